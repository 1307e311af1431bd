// Package arch holds no code: its test checks the seams between packages
// (which packages may link the NATS transport), so a stray import fails
// the build's tests instead of growing unnoticed.
package arch
