package rsacrt

import (
	"crypto/rand"
	"crypto/rsa"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkLeakage is a dudect-style check (Reparaz, Balasch, Verbauwhede,
// "Dude, is my code constant time?", 2017) of what the review in rsacrt.go
// argues: Sign's running time does not depend on secrets. Two experiments,
// each taking samples of two classes in random order and comparing their
// means with Welch's t-test (|t| > 4.5 is the usual sign of a leak):
//
//	key:     one fixed message signed with key A or key B (same size):
//	         a time that depends on d, p, q or the CRT values would differ
//	message: key A signs one fixed message or fresh random ones: the
//	         secret intermediates (s_p, s_q, h) vary with the message
//
// Times are the thread's CPU time (other processes on a shared machine do
// not count). It reports |t| for each and, for scale, the same statistic for
// circl's math/big signer on the message experiment. A benchmark, not a
// test: its outcome is statistical and machine-dependent.
//
//	go test -run - -bench Leakage -benchtime 4000x ./internal/rsacrt
func BenchmarkLeakage(b *testing.B) {
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this system")
	}
	a := randomKeys(b)[0]
	c, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ka, err := New(a)
	if err != nil {
		b.Fatal(err)
	}
	kc, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	// A message below both moduli.
	minN := a.N
	if c.N.Cmp(minN) < 0 {
		minN = c.N
	}
	fixed := randomBelow(b, minN, 10)
	randoms := make([][]byte, 256)
	for i := range randoms {
		randoms[i] = randomBelow(b, a.N, 10+i)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sign := func(k *PrivateKey, m []byte) float64 {
		c0, _ := threadCPU()
		_, err := k.Sign(m)
		c1, _ := threadCPU()
		if err != nil {
			b.Fatal(err)
		}
		return float64(c1 - c0)
	}
	var keyT, msgT welch
	i := 0
	for b.Loop() {
		// Key experiment.
		if mrand.IntN(2) == 0 {
			keyT.add(0, sign(ka, fixed))
		} else {
			keyT.add(1, sign(kc, fixed))
		}
		// Message experiment.
		if mrand.IntN(2) == 0 {
			msgT.add(0, sign(ka, fixed))
		} else {
			msgT.add(1, sign(ka, randoms[i%len(randoms)]))
		}
		i++
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(math.Abs(keyT.t()), "|t|-key")
	b.ReportMetric(math.Abs(msgT.t()), "|t|-message")
	b.ReportMetric(keyT.mean(0)/float64(time.Microsecond), "key-A-µs")
}

// BenchmarkLeakageCircl is BenchmarkLeakage's message experiment on circl's
// BlindSign (math/big; it blinds the base, so a leak shows less directly),
// for scale.
func BenchmarkLeakageCircl(b *testing.B) {
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this system")
	}
	sk := randomKeys(b)[0]
	fixed := new(big.Int).Rsh(sk.N, 8).FillBytes(make([]byte, 256))
	randoms := make([][]byte, 256)
	for i := range randoms {
		m, err := rand.Int(rand.Reader, sk.N)
		if err != nil {
			b.Fatal(err)
		}
		randoms[i] = m.FillBytes(make([]byte, 256))
	}
	s := blindrsaSigner(sk)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var msgT welch
	i := 0
	for b.Loop() {
		class, m := 0, fixed
		if mrand.IntN(2) == 1 {
			class, m = 1, randoms[i%len(randoms)]
		}
		c0, _ := threadCPU()
		_, err := s.BlindSign(m)
		c1, _ := threadCPU()
		if err != nil {
			b.Fatal(err)
		}
		msgT.add(class, float64(c1-c0))
		i++
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(math.Abs(msgT.t()), "|t|-message")
}

// welch accumulates two classes' samples for Welch's t-test (Welford's
// running mean and variance).
type welch struct {
	n  [2]float64
	m  [2]float64
	m2 [2]float64
}

func (w *welch) add(class int, x float64) {
	w.n[class]++
	d := x - w.m[class]
	w.m[class] += d / w.n[class]
	w.m2[class] += d * (x - w.m[class])
}

func (w *welch) mean(class int) float64 { return w.m[class] }

func (w *welch) t() float64 {
	if w.n[0] < 2 || w.n[1] < 2 {
		return 0
	}
	v0 := w.m2[0] / (w.n[0] - 1)
	v1 := w.m2[1] / (w.n[1] - 1)
	return (w.m[0] - w.m[1]) / math.Sqrt(v0/w.n[0]+v1/w.n[1])
}
