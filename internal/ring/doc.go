// Package ring provides [Ring], the first-in-first-out buffer that the
// delta FIFO and the informer's handler buffers are built on. It is not safe
// for concurrent use: its users guard it with their own locks.
package ring
