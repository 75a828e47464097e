package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// WriteTLSFiles writes, as PEM files in dir, a new certificate authority,
// a server certificate for 127.0.0.1 and a client certificate, both
// signed by it and valid for a day, and returns them as the TLS option of
// a server that requires client certificates (mutual TLS). The files are
// named ca.pem, server.pem, server-key.pem, client.pem and client-key.pem.
func WriteTLSFiles(dir string) (*TLSFiles, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcdtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: CA certificate: %w", err)
	}
	write := func(name, typ string, der []byte) (string, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			return "", fmt.Errorf("etcdtest: %w", err)
		}
		return p, nil
	}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (cert, key string, err error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", fmt.Errorf("etcdtest: %s key: %w", name, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return "", "", fmt.Errorf("etcdtest: %s certificate: %w", name, err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", "", fmt.Errorf("etcdtest: %s key: %w", name, err)
		}
		if cert, err = write(name+".pem", "CERTIFICATE", der); err != nil {
			return "", "", err
		}
		key, err = write(name+"-key.pem", "EC PRIVATE KEY", kder)
		return cert, key, err
	}
	f := &TLSFiles{ClientCertAuth: true}
	if f.CAFile, err = write("ca.pem", "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	if f.CertFile, f.KeyFile, err = leaf("server", 2, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if f.ClientCertFile, f.ClientKeyFile, err = leaf("client", 3, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	return f, nil
}
