package rsacrt

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/blindsign/blindrsa"
)

// The benchmarks compare, on one RSA-2048 key and one goroutine:
//
//	crt      this package's Sign (CRT on bigmod, with RFC 9474's check)
//	circl    circl's blindrsa BlindSign (math/big, no CRT), which it replaces
//	signpss  Go's rsa.SignPSS (CRT on the same arithmetic, plus PSS encoding
//	         and its own check), the "on par with Go's own RSA" yardstick
//
// BenchmarkCompare runs the three interleaved in each iteration, so that a
// busy shared machine slows all of them alike, and reports the ratios;
// with openssl installed it also reports `openssl speed rsa2048`'s signs/s
// next to them (the moonshot: within 2× of OpenSSL). Run
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/rsacrt

func benchKey(b *testing.B) (*rsa.PrivateKey, []byte) {
	b.Helper()
	sk := randomKeys(b)[0]
	if sk.N.BitLen() != 2048 {
		b.Fatal("not an RSA-2048 key")
	}
	return sk, randomBelow(b, sk.N, 10)
}

func BenchmarkCRT(b *testing.B) {
	sk, m := benchKey(b)
	k, err := New(sk)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := k.Sign(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCircl(b *testing.B) {
	sk, m := benchKey(b)
	s := blindrsa.NewSigner(sk)
	for b.Loop() {
		if _, err := s.BlindSign(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignPSS(b *testing.B) {
	sk, _ := benchKey(b)
	d := sha512.Sum384([]byte("blindpass"))
	opts := &rsa.PSSOptions{SaltLength: 48, Hash: crypto.SHA384}
	for b.Loop() {
		if _, err := rsa.SignPSS(rand.Reader, sk, crypto.SHA384, d[:], opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompare reports, from one interleaved run: µs per signature of
// each signer, circl÷crt (the speed-up; target ≥ 3) and crt÷signpss (1 = on
// par with Go's own RSA), in wall time and, on Linux, in the thread's CPU
// time, which other processes on a shared machine do not inflate. With
// openssl installed it adds `openssl speed rsa2048`'s signs/s (OpenSSL
// counts CPU time too) and crt÷openssl on CPU time (moonshot ≤ 2).
func BenchmarkCompare(b *testing.B) {
	sk, m := benchKey(b)
	k, err := New(sk)
	if err != nil {
		b.Fatal(err)
	}
	ref := blindrsa.NewSigner(sk)
	d := sha512.Sum384([]byte("blindpass"))
	opts := &rsa.PSSOptions{SaltLength: 48, Hash: crypto.SHA384}
	signers := []func() error{
		func() error { _, err := k.Sign(m); return err },
		func() error { _, err := ref.BlindSign(m); return err },
		func() error { _, err := rsa.SignPSS(rand.Reader, sk, crypto.SHA384, d[:], opts); return err },
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var wall, cpu [3]time.Duration
	_, cpuOK := threadCPU()
	n := 0
	for b.Loop() {
		for i, sign := range signers {
			c0, _ := threadCPU()
			t0 := time.Now()
			if err := sign(); err != nil {
				b.Fatal(err)
			}
			wall[i] += time.Since(t0)
			c1, _ := threadCPU()
			cpu[i] += c1 - c0
		}
		n++
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(n) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(us(wall[0]), "crt-µs")
	b.ReportMetric(us(wall[1]), "circl-µs")
	b.ReportMetric(us(wall[2]), "signpss-µs")
	b.ReportMetric(float64(wall[1])/float64(wall[0]), "circl/crt")
	b.ReportMetric(float64(wall[0])/float64(wall[2]), "crt/signpss")
	if cpuOK {
		b.ReportMetric(us(cpu[0]), "crt-cpu-µs")
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-circl/crt")
		b.ReportMetric(float64(cpu[0])/float64(cpu[2]), "cpu-crt/signpss")
	}
	if sps, ok := opensslSignsPerSecond(); ok {
		b.ReportMetric(sps, "openssl-sign/s")
		if cpuOK {
			b.ReportMetric(us(cpu[0])*sps/1e6, "cpu-crt/openssl")
		}
	}
}

var (
	opensslOnce sync.Once
	opensslSPS  float64
)

// opensslSignsPerSecond runs `openssl speed -mr rsa2048` once, when openssl
// is installed, and returns its RSA-2048 signs per second on one core.
func opensslSignsPerSecond() (float64, bool) {
	opensslOnce.Do(func() {
		if _, err := exec.LookPath("openssl"); err != nil {
			return
		}
		out, err := exec.Command("openssl", "speed", "-mr", "-seconds", "3", "rsa2048").Output()
		if err != nil {
			return
		}
		// -mr prints "+F2:<n>:<bits>:<sign>:<verify>": signs per second
		// in OpenSSL 3, seconds per sign in OpenSSL 1.1.
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(strings.TrimSpace(line), ":")
			if len(f) >= 5 && f[0] == "+F2" && f[2] == "2048" {
				if s, err := strconv.ParseFloat(f[3], 64); err == nil && s > 0 {
					if s < 1 {
						s = 1 / s
					}
					opensslSPS = s
				}
			}
		}
	})
	return opensslSPS, opensslSPS > 0
}
