package ohttp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/ohttp/bhttp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9458 Appendix A.
var rfc9458 = struct{ sk, config, request, encRequest, response, encResponse, nonce string }{
	sk:      "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a",
	config:  "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e 79815500080001000100010003",
	request: "00034745540568747470730b6578616d706c652e636f6d012f",
	encRequest: `010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad1
9dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e796
5e7d86b83dd440b2c0185204b4d63525`,
	response: "0140c8",
	nonce:    "c789e7151fcba46158ca84b04464910d",
	encResponse: `c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f
857fbd`,
}

// draft-ietf-ohai-chunked-ohttp-06, Appendix A.
var chunkedVector = struct{ sk, config, encRequest, encResponse, nonce string }{
	sk:     "1c190d72acdbe4dbc69e680503bb781a932c70a12c8f3754434c67d8640d8698",
	config: "010020668eb21aace159803974a4c67f08b4152d29bed10735fd08f98ccdd6fe 09570800080001000100010003",
	encRequest: `01002000010001
8811eb457e100811c40a0aa71340a1b81d804bb986f736f2f566a7199761a032
1c2ad24942d4d692563012f2980c8fef437a336b9b2fc938ef77a5834f
1d2e33d8fd25577afe31bd1c79d094f76b6250ae6549b473ecd950501311
001c6c1395d0ef7c1022297966307b8a7f`,
	nonce: "bcce7f4cb921309ba5d62edf1769ef09",
	encResponse: `bcce7f4cb921309ba5d62edf1769ef09
1179bf1cc87fa0e2c02de4546945aa3d1e48
12b348b5bd4c594c16b6170b07b475845d1f32
00ed9d8a796617a5b27265f4d73247f639`,
}

func vectorKey(t *testing.T, sk, config string) Keys {
	t.Helper()
	k, err := PrivateKeyFromBytes(1, unhex(t, sk))
	if err != nil {
		t.Fatal(err)
	}
	// The vector's configuration lists two AEADs (AES-128-GCM, ChaCha20-Poly1305).
	k.Config.Algorithms = append(k.Config.Algorithms, SymmetricAlgorithm{KDF: 1, AEAD: 3})
	if got := k.Config.Marshal(); !bytes.Equal(got, unhex(t, config)) {
		t.Fatalf("key configuration %x, want %s", got, config)
	}
	c, err := ParseKeyConfig(unhex(t, config))
	if err != nil || !c.Supported() || !bytes.Equal(c.Marshal(), unhex(t, config)) {
		t.Fatalf("ParseKeyConfig: %+v %v", c, err)
	}
	return Keys{k}
}

func TestRFC9458AppendixA(t *testing.T) {
	keys := vectorKey(t, rfc9458.sk, rfc9458.config)
	msg, rc, err := keys.DecapsulateRequest(unhex(t, rfc9458.encRequest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg, unhex(t, rfc9458.request)) {
		t.Fatalf("request %x", msg)
	}
	req, err := bhttp.ParseRequest(msg, bhttp.Limits{})
	if err != nil || req.Method != "GET" || req.Authority != "example.com" || req.Path != "/" {
		t.Fatalf("%+v %v", req, err)
	}
	enc, err := rc.SealResponse(unhex(t, rfc9458.response), bytes.NewReader(unhex(t, rfc9458.nonce)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, unhex(t, rfc9458.encResponse)) {
		t.Fatalf("encapsulated response %x\nwant %s", enc, rfc9458.encResponse)
	}
}

func TestChunkedDraftExample(t *testing.T) {
	keys := vectorKey(t, chunkedVector.sk, chunkedVector.config)
	cr, err := keys.OpenChunkedRequest(bytes.NewReader(unhex(t, chunkedVector.encRequest)))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := io.ReadAll(cr)
	if err != nil || !bytes.Equal(msg, unhex(t, rfc9458.request)) {
		t.Fatalf("request %x %v", msg, err)
	}
	var out bytes.Buffer
	w, err := cr.NewResponseWriter(&out, bytes.NewReader(unhex(t, chunkedVector.nonce)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte{0x01})
	w.Write([]byte{0x40, 0xc8})
	w.Close()
	if !bytes.Equal(out.Bytes(), unhex(t, chunkedVector.encResponse)) {
		t.Fatalf("encapsulated response %x\nwant %s", out.Bytes(), chunkedVector.encResponse)
	}
	// A truncated request (final chunk dropped) or a reordered one fails.
	full := unhex(t, chunkedVector.encRequest)
	for name, b := range map[string][]byte{
		"final chunk dropped": full[:len(full)-17],
		"last byte flipped":   append(append([]byte{}, full[:len(full)-1]...), full[len(full)-1]^1),
	} {
		cr, err := keys.OpenChunkedRequest(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(cr); err == nil {
			t.Errorf("%s: read cleanly", name)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	k, err := NewPrivateKey(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := Keys{k}
	list, err := ParseKeyConfigs(MarshalKeyConfigs(keys.Configs()))
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	cfg, err := Pick(list)
	if err != nil {
		t.Fatal(err)
	}

	enc, rc, err := EncapsulateRequest(cfg, []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, sc, err := keys.DecapsulateRequest(enc)
	if err != nil || string(pt) != "hello" {
		t.Fatal(pt, err)
	}
	resp, _ := sc.SealResponse([]byte("world"), nil)
	if got, err := rc.OpenResponse(resp); err != nil || string(got) != "world" {
		t.Fatal(got, err)
	}
	resp[len(resp)-1] ^= 1
	if _, err := rc.OpenResponse(resp); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered response: %v", err)
	}

	// Chunked, with a response streamed over a pipe: each chunk is readable
	// before the next one is written.
	creq, err := NewChunkedRequest(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := creq.SealChunk([]byte("part one, "))
	c2, _ := creq.SealFinal([]byte("part two"))
	body := append(append(append([]byte{}, creq.Header()...), c1...), c2...)
	gr, err := keys.OpenChunkedRequest(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(gr); err != nil || string(got) != "part one, part two" {
		t.Fatalf("%q %v", got, err)
	}
	pr, pw := io.Pipe()
	w, _ := gr.NewResponseWriter(pw, nil)
	plain := creq.OpenResponse(pr)
	go func() { w.Write([]byte("first")) }()
	buf := make([]byte, 64)
	if n, err := plain.Read(buf); err != nil || string(buf[:n]) != "first" {
		t.Fatalf("first chunk %q %v", buf[:n], err)
	}
	go func() { w.Write([]byte("second")); w.Close(); pw.Close() }()
	if rest, err := io.ReadAll(plain); err != nil || string(rest) != "second" {
		t.Fatalf("rest %q %v", rest, err)
	}

	// A cut response is an error, not a clean end.
	pr, pw = io.Pipe()
	w, _ = gr.NewResponseWriter(pw, nil)
	go func() { w.Write([]byte("only")); pw.Close() }()
	if _, err := io.ReadAll(creq.OpenResponse(pr)); err == nil {
		t.Fatal("a response without its final chunk read cleanly")
	}

	// Unknown key id.
	other, _ := NewPrivateKey(8, nil)
	enc, _, _ = EncapsulateRequest(other.Config, []byte("x"), nil)
	if _, _, err := keys.DecapsulateRequest(enc); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	enc, _, _ = EncapsulateChunked(other.Config, []byte("x"), nil)
	if _, err := keys.OpenChunkedRequest(bytes.NewReader(enc)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key, chunked: %v", err)
	}
}

func TestParseKeyConfigsRejects(t *testing.T) {
	good := unhex(t, rfc9458.config)
	list := MarshalKeyConfigs([]KeyConfig{mustParse(t, good)})
	for name, b := range map[string][]byte{
		"empty":           {},
		"cut":             list[:len(list)-1],
		"trailing":        append(append([]byte{}, list...), 0),
		"odd algorithms":  append([]byte{0, 0x2a}, append(good[:35:35], 0, 6, 0, 1, 0, 1, 0, 3)...),
		"empty algorithm": append([]byte{0, 0x25}, append(good[:35:35], 0, 0)...),
	} {
		if _, err := ParseKeyConfigs(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// An unknown KEM is skipped, not fatal.
	odd := append([]byte{0, 5}, 1, 0xff, 0xff, 0, 0)
	got, err := ParseKeyConfigs(append(odd, list...))
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
}

func mustParse(t *testing.T, b []byte) KeyConfig {
	c, err := ParseKeyConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func FuzzParseKeyConfigs(f *testing.F) {
	f.Add(MarshalKeyConfigs([]KeyConfig{mustParseF(f, rfc9458.config)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseKeyConfigs(b)
		if err != nil {
			return
		}
		again, err := ParseKeyConfigs(MarshalKeyConfigs(cs))
		if len(cs) > 0 && (err != nil || len(again) != len(cs)) {
			t.Fatalf("%x: %v", b, err)
		}
		for _, c := range cs {
			if d, err := ParseKeyConfig(c.Marshal()); err != nil || !bytes.Equal(d.Marshal(), c.Marshal()) {
				t.Fatalf("%x re-marshals differently", c.Marshal())
			}
		}
	})
}

func mustParseF(f *testing.F, s string) KeyConfig {
	c, err := ParseKeyConfig(unhex(f, s))
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// FuzzDecapsulate feeds arbitrary encapsulated requests, plain and chunked,
// to a gateway key: errors only, never a panic.
func FuzzDecapsulate(f *testing.F) {
	k, _ := PrivateKeyFromBytes(1, unhex(f, rfc9458.sk))
	keys := Keys{k}
	f.Add(unhex(f, rfc9458.encRequest))
	f.Add(unhex(f, chunkedVector.encRequest))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = keys.DecapsulateRequest(b)
		if cr, err := keys.OpenChunkedRequest(bytes.NewReader(b)); err == nil {
			_, _ = io.ReadAll(cr)
		}
	})
}

// FuzzOpenChunkedResponse feeds arbitrary chunked responses to a client.
func FuzzOpenChunkedResponse(f *testing.F) {
	k, _ := NewPrivateKey(1, nil)
	req, _ := NewChunkedRequest(k.Config, nil)
	f.Add(unhex(f, chunkedVector.encResponse))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = io.ReadAll(req.OpenResponse(bytes.NewReader(b)))
	})
}
