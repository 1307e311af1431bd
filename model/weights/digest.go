package weights

// Digest is the manifest digest of the embedded files,
// protocol.WeightsDigest(Text(), DiT(), VAE()), recorded by `go generate`
// with the files (internal/gen writes embeddedDigest) so that a process
// serving the built-in model does not hash 20 MB at every start: the
// hashing was a quarter of model.Load's CPU time. TestDigest checks it.
func Digest() string { return embeddedDigest }
