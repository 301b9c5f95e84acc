package bhttp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9292 §5.1, Figure 7: known-length request.
const rfcKnownRequest = `
00034745 54056874 74707300 0a2f6865 6c6c6f2e 74787440 6c0a7573 65722d61
67656e74 34637572 6c2f372e 31362e33 206c6962 6375726c 2f372e31 362e3320
4f70656e 53534c2f 302e392e 376c207a 6c69622f 312e322e 3304686f 73740f77
77772e65 78616d70 6c652e63 6f6d0f61 63636570 742d6c61 6e677561 67650665
6e2c206d 690000`

// RFC 9292 §5.1, Figure 8: the same request, indeterminate-length, with 10
// bytes of padding.
const rfcIndeterminateRequest = `
02034745 54056874 74707300 0a2f6865 6c6c6f2e 7478740a 75736572 2d616765
6e743463 75726c2f 372e3136 2e33206c 69626375 726c2f37 2e31362e 33204f70
656e5353 4c2f302e 392e376c 207a6c69 622f312e 322e3304 686f7374 0f777777
2e657861 6d706c65 2e636f6d 0f616363 6570742d 6c616e67 75616765 06656e2c
206d6900 00000000 00000000 00000000`

// RFC 9292 §5.2, Figure 10: an indeterminate-length response with two
// informational responses.
const rfcInterimResponse = `
03406607 72756e6e 696e670a 22736c65 65702031 35220040 67046c69 6e6b233c
2f737479 6c652e63 73733e3b 2072656c 3d707265 6c6f6164 3b206173 3d737479
6c65046c 696e6b24 3c2f7363 72697074 2e6a733e 3b207265 6c3d7072 656c6f61
643b2061 733d7363 72697074 0040c804 64617465 1d4d6f6e 2c203237 204a756c
20323030 39203132 3a32383a 35332047 4d540673 65727665 72064170 61636865
0d6c6173 742d6d6f 64696669 65641d57 65642c20 3232204a 756c2032 30303920
31393a31 353a3536 20474d54 04657461 67142233 34616133 38372d64 2d313536
38656230 30220d61 63636570 742d7261 6e676573 05627974 65730e63 6f6e7465
6e742d6c 656e6774 68023531 04766172 790f4163 63657074 2d456e63 6f64696e
670c636f 6e74656e 742d7479 70650a74 6578742f 706c6169 6e003348 656c6c6f
20576f72 6c642120 4d792063 6f6e7465 6e742069 6e636c75 64657320 61207472
61696c69 6e672043 524c462e 0d0a0000`

// RFC 9292 §5.2, Figure 12: a known-length response with a trailer.
const rfcKnownResponse = `
0140c800 1d546869 7320636f 6e74656e 7420636f 6e746169 6e732043 524c462e
0d0a0d07 74726169 6c657204 74657874`

var helloRequest = &Request{
	Method: "GET", Scheme: "https", Authority: "", Path: "/hello.txt",
	Header: []Field{
		{"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"},
		{"host", "www.example.com"},
		{"accept-language", "en, mi"},
	},
}

func TestRFC9292Requests(t *testing.T) {
	known := unhex(t, rfcKnownRequest)
	for name, b := range map[string][]byte{
		"known":                   known,
		"known truncated":         known[:len(known)-2],
		"indeterminate + padding": unhex(t, rfcIndeterminateRequest),
	} {
		r, err := ParseRequest(b, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(r, helloRequest) {
			t.Fatalf("%s: parsed %+v", name, r)
		}
	}
	if got := helloRequest.Marshal(); !bytes.Equal(got, known) {
		t.Fatalf("Marshal = %x\nwant      %x", got, known)
	}
	ind := unhex(t, rfcIndeterminateRequest)
	if got := helloRequest.MarshalIndeterminate(); !bytes.Equal(got, ind[:len(ind)-10]) {
		t.Fatalf("MarshalIndeterminate = %x", got)
	}
}

func TestRFC9292Responses(t *testing.T) {
	r, err := ParseResponse(unhex(t, rfcInterimResponse), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Informational) != 2 || r.Informational[0].Status != 102 || r.Informational[1].Status != 103 ||
		r.Informational[1].Header[1] != (Field{"link", "</script.js>; rel=preload; as=script"}) {
		t.Fatalf("informational %+v", r.Informational)
	}
	if r.Status != 200 || len(r.Header) != 8 || r.Header[7] != (Field{"content-type", "text/plain"}) ||
		string(r.Content) != "Hello World! My content includes a trailing CRLF.\r\n" || r.Trailer != nil {
		t.Fatalf("response %+v", r)
	}
	if got, want := r.MarshalIndeterminate(), unhex(t, rfcInterimResponse); !bytes.Equal(got, want) {
		t.Fatalf("MarshalIndeterminate = %x\nwant %x", got, want)
	}

	known := unhex(t, rfcKnownResponse)
	r, err = ParseResponse(known, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Response{Status: 200, Content: []byte("This content contains CRLF.\r\n"), Trailer: []Field{{"trailer", "text"}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("parsed %+v", r)
	}
	if !bytes.Equal(want.Marshal(), known) {
		t.Fatalf("Marshal = %x", want.Marshal())
	}
	// RFC 9458 Appendix A's minimal response: 200, everything else truncated.
	r, err = ParseResponse([]byte{0x01, 0x40, 0xc8}, Limits{})
	if err != nil || r.Status != 200 || r.Header != nil || r.Content != nil {
		t.Fatalf("minimal response: %+v, %v", r, err)
	}
}

func TestStreamedResponse(t *testing.T) {
	b := AppendResponseHead(nil, 200, []Field{{"content-type", "text/event-stream"}})
	b = AppendChunk(b, []byte("data: a\n\n"))
	b = AppendChunk(b, nil)
	b = AppendChunk(b, []byte("data: [DONE]\n\n"))
	b = AppendResponseEnd(b, nil)
	resp, body, err := ReadResponse(bytes.NewReader(b), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(body)
	if err != nil || resp.Status != 200 || string(content) != "data: a\n\ndata: [DONE]\n\n" {
		t.Fatalf("%v %q %v", resp, content, err)
	}
	// Cut anywhere inside the content: an error, never a clean EOF.
	for cut := len(b) - 2; cut > 0; cut-- {
		_, body, err := ReadResponse(bytes.NewReader(b[:cut]), Limits{})
		if err != nil {
			continue
		}
		if _, err := io.ReadAll(body); err == nil && cut > len(AppendResponseHead(nil, 200, []Field{{"content-type", "text/event-stream"}})) {
			t.Fatalf("cut at %d read cleanly", cut)
		}
	}
}

func TestInvalid(t *testing.T) {
	known := unhex(t, rfcKnownRequest)
	cases := map[string][]byte{
		"empty":               {},
		"framing 4":           {0x04},
		"request as response": known,
		"cut in control data": known[:8],
		"cut in a field":      known[:30],
		"nonzero padding":     append(append([]byte{}, known...), 0, 1),
	}
	for name, b := range cases {
		if _, err := ParseResponse(b, Limits{}); err == nil {
			t.Errorf("%s: parsed as a response", name)
		}
		if name == "request as response" {
			continue
		}
		if _, err := ParseRequest(b, Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, r := range map[string]*Request{
		"uppercase name": {Method: "GET", Scheme: "https", Path: "/", Header: []Field{{"X", "1"}}},
		"pseudo field":   {Method: "GET", Scheme: "https", Path: "/", Header: []Field{{":path", "/x"}}},
		"CRLF in value":  {Method: "GET", Scheme: "https", Path: "/", Header: []Field{{"x", "a\r\nb"}}},
		"space in path":  {Method: "GET", Scheme: "https", Path: "/a b"},
		"empty method":   {Scheme: "https", Path: "/"},
	} {
		b := r.Marshal()
		if name == "uppercase name" { // Marshal lowercases; write it by hand
			b = bytes.Replace(b, []byte{1, 'x'}, []byte{1, 'X'}, 1)
		}
		if _, err := ParseRequest(b, Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	big := &Request{Method: "POST", Scheme: "https", Path: "/", Content: make([]byte, 100)}
	if _, err := ParseRequest(big.Marshal(), Limits{MaxContent: 99}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("content over the limit: %v", err)
	}
	if _, err := ParseRequest(big.MarshalIndeterminate(), Limits{MaxContent: 99}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("indeterminate content over the limit: %v", err)
	}
	hdr := &Request{Method: "GET", Scheme: "https", Path: "/", Header: []Field{{"x", strings.Repeat("a", 200)}}}
	for _, b := range [][]byte{hdr.Marshal(), hdr.MarshalIndeterminate()} {
		if _, err := ParseRequest(b, Limits{MaxFieldSection: 100}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("header over the limit: %v", err)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(unhex(f, rfcKnownRequest))
	f.Add(unhex(f, rfcIndeterminateRequest))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b, Limits{})
		if err != nil {
			return
		}
		for _, enc := range [][]byte{r.Marshal(), r.MarshalIndeterminate()} {
			again, err := ParseRequest(enc, Limits{})
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("%x re-encodes as %x: %+v, %v", b, enc, again, err)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add(unhex(f, rfcInterimResponse))
	f.Add(unhex(f, rfcKnownResponse))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b, Limits{})
		if err != nil {
			return
		}
		for _, enc := range [][]byte{r.Marshal(), r.MarshalIndeterminate()} {
			again, err := ParseResponse(enc, Limits{})
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("%x re-encodes as %x: %+v, %v", b, enc, again, err)
			}
		}
		// The streaming reader agrees with the whole-message parser.
		head, body, err := ReadResponse(bytes.NewReader(b), Limits{})
		if err != nil {
			t.Fatalf("ReadResponse: %v", err)
		}
		c, err := io.ReadAll(body)
		if err != nil || !bytes.Equal(c, r.Content) || head.Status != r.Status {
			t.Fatalf("streamed %d %q %v", head.Status, c, err)
		}
	})
}
