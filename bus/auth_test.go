package bus_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
)

// writeCert writes a PEM certificate and key signed by parent (self-signed
// when parent is nil) and returns the paths.
func writeCert(t *testing.T, dir, name string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (string, string, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         isCA, BasicConstraintsValid: true,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	cp, kp := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cp, kp, cert, key
}

// A server with mutual TLS and a password: a client with the CA, its
// certificate and the password connects; without them it is refused.
func TestServerTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	caPath, _, ca, caKey := writeCert(t, dir, "ca", true, nil, nil)
	srvCert, srvKey, _, _ := writeCert(t, dir, "server", false, ca, caKey)
	cliCert, cliKey, _, _ := writeCert(t, dir, "client", false, ca, caKey)
	s, err := bus.StartServer(bus.ServerConfig{DataDir: filepath.Join(dir, "data"), Port: -1, MaxStore: 1 << 30,
		User: "reel", Password: "secret", TLSCert: srvCert, TLSKey: srvKey, TLSCA: caPath}, bustest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ctx := bustest.Ctx(t, 30*time.Second)
	good := bus.ConnectConfig{URL: s.ClientURL(), User: "reel", Password: "secret", TLSCA: caPath, TLSCert: cliCert, TLSKey: cliKey}
	b, err := bus.Open(ctx, good, bus.LayoutConfig{MaxBytes: 16 << 20}, bustest.Logger(t))
	if err != nil {
		t.Fatalf("good client: %v", err)
	}
	b.Close()
	// reel server's own in-process connection needs only the password.
	inproc, err := bus.Connect(ctx, bus.ConnectConfig{InProcess: s, User: "reel", Password: "secret"}, bustest.Logger(t))
	if err != nil {
		t.Fatalf("in-process client: %v", err)
	}
	inproc.Close()
	bad := map[string]func(*bus.ConnectConfig){
		"wrong password": func(c *bus.ConnectConfig) { c.Password = "nope" },
		"no client cert": func(c *bus.ConnectConfig) { c.TLSCert, c.TLSKey = "", "" },
		"no CA":          func(c *bus.ConnectConfig) { c.TLSCA = "" },
	}
	for name, mod := range bad {
		c := good
		mod(&c)
		if b, err := bus.Connect(ctx, c, bustest.Logger(t)); err == nil {
			b.NC.Close()
			t.Errorf("%s: connected", name)
		}
	}
}
