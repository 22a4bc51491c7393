package script

// Error replies of scripting, exactly as redis-server 7.0 sends them. Those
// without a leading code get "ERR " from the writer that sends them, as
// Redis's addReplyError does; the host uses the ones about command checks
// when it refuses a command issued by redis.call (see Host.Call).
const (
	ErrNoScript         = "NOSCRIPT No matching script. Please use EVAL."
	ErrNumKeysNegative  = "ERR Number of keys can't be negative"
	ErrNumKeysTooMany   = "ERR Number of keys can't be greater than number of args"
	ErrNotInteger       = "ERR value is not an integer or out of range"
	ErrBadNumKeys       = "ERR Bad number of keys provided"
	ErrFunctionNotFound = "ERR Function not found"
	ErrROWithWriteFlag  = "ERR Can not execute a script with write flag using *_ro command."
	ErrNoCluster        = "ERR Can not run script on cluster, 'no-cluster' flag is set."
	ErrOOMScript        = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
	ErrStaleScript      = "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."
	ErrStaleCompat      = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	ErrROReplicaScript  = "ERR Can not run script with write flag on readonly replica"
	ErrMisconfRDBScript = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."

	// Errors of commands called from a script (scriptCall in script.c).
	// The host appends them as error replies ("-" + text) from Host.Call.
	ErrUnknownCommand   = "ERR Unknown Redis command called from script"
	ErrWrongArity       = "ERR Wrong number of args calling Redis command from script"
	ErrNoScriptCommand  = "ERR This Redis command is not allowed from script"
	ErrWriteInReadOnly  = "ERR Write commands are not allowed from read-only scripts."
	ErrACLDeniedCommand = "ERR The user executing the script can't run this command or subcommand"
	ErrACLDeniedKey     = "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
	ErrACLDeniedChannel = "ERR The user executing the script can't publish to the channel mentioned in the command"

	// SCRIPT KILL / FUNCTION KILL, answered by the host, which knows what runs.
	ErrNotBusy           = "NOTBUSY No scripts in execution right now."
	ErrUnkillableMaster  = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed."
	ErrUnkillableWritten = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	// ErrBusyEval answers other clients (and FUNCTION KILL) while an EVAL
	// script is past busy-reply-threshold; ErrBusyFunction while a function
	// is (and SCRIPT KILL then).
	ErrBusyEval     = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	ErrBusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."

	// ErrKilled is the error a killed script ends with (before the
	// " script: <name>, on <source>:<line>." suffix).
	ErrKilled = "ERR Script killed by user with SCRIPT KILL..."
)
