// Package script is Basalt's Lua scripting engine: EVAL/EVALSHA scripts and
// FUNCTION libraries, matching redis-server 7.0.
//
// Pieces and who owns them:
//
//   - Engine (one per server) holds the shared registries: the EVAL script
//     cache (sha -> body, authoritative for SCRIPT EXISTS, with compiled
//     protos in a bounded ristretto cache) and the function libraries. It is
//     safe for concurrent use by every loop.
//   - VM (one per goroutine that runs scripts, e.g. one per event loop) wraps
//     a gopher-lua state with Redis's sandbox. A VM is not safe for
//     concurrent use; only its owner goroutine may call it.
//   - Host is implemented by the caller (the loop): it runs the commands a
//     script issues through redis.call/pcall, answers ACL checks, logs and
//     decides when a long script is killed.
//
// Replies are written with resp.Writer in the calling client's protocol;
// error strings are Redis 7.0's, byte for byte. gopher-lua's runtime
// errors are reworded as Lua 5.1's, naming the culprit from the bytecode
// ("attempt to index local 'x' (a nil value)", luaerr.go); stdlib
// functions whose checks or formatting differ are replaced (stdlib.go);
// chunks are checked by a Lua 5.1 grammar recognizer first, for its
// compile errors (syntax.go). fidelity_test.go compares ~500 snippets with
// a real redis-server. Known differences: the VM's `..` formats numbers
// gopher-lua's way ((1/3) .. "x" starts "0.3333333333333333", not with
// Lua's "%.14g" digits), next with a missing key returns nil, coroutine.wrap does not
// prefix a second position to errors.
package script
