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
// error strings are Redis 7.0's, byte for byte, where gopher-lua allows
// (runtime error texts produced inside the Lua VM itself, such as
// "attempt to index ...", are gopher-lua's own wording).
package script
