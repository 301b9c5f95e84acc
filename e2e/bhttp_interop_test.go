package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/ohttp/bhttp"
)

// TestBinaryHTTPInterop checks ohttp/bhttp against an independent RFC 9292
// implementation, the unmodified bhttp-js npm package, both ways.
func TestBinaryHTTPInterop(t *testing.T) {
	dir, err := filepath.Abs("bhttp-js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed (.ci/run installs Debian's nodejs and npm)")
		}
		t.Skip("node is not installed: apt-get install nodejs npm, then npm ci in e2e/bhttp-js")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "bhttp-js", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	node := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", append([]string{"interop.mjs"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("node interop.mjs %s: %v\n%s", args[0], err, stderr)
		}
		return out
	}

	// bhttp-js encodes, we parse.
	var enc struct{ Request, Response string }
	if err := json.Unmarshal(node("encode"), &enc); err != nil {
		t.Fatal(err)
	}
	rb, _ := hex.DecodeString(enc.Request)
	req, err := bhttp.ParseRequest(rb, bhttp.Limits{})
	if err != nil {
		t.Fatalf("a bhttp-js request: %v", err)
	}
	fields := func(fs []bhttp.Field) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Name] = f.Value
		}
		return m
	}
	h := fields(req.Header)
	// (bhttp-js 0.2.1 writes the path without the query.)
	if req.Method != "POST" || req.Scheme != "https" || req.Authority != "redeemer.example" ||
		!strings.HasPrefix(req.Path, "/v1/chat/completions") || h["content-type"] != "application/json" ||
		h["authorization"] != `PrivateToken token="abc="` || string(req.Content) != `{"model":"blindpass-pro"}` {
		t.Fatalf("parsed a bhttp-js request as %+v", req)
	}
	sb, _ := hex.DecodeString(enc.Response)
	resp, err := bhttp.ParseResponse(sb, bhttp.Limits{})
	if err != nil {
		t.Fatalf("a bhttp-js response: %v", err)
	}
	if h := fields(resp.Header); resp.Status != 201 || h["content-type"] != "text/event-stream" ||
		h["blindpass-tokens-consumed"] != "true" || string(resp.Content) != "data: hello\n\n" {
		t.Fatalf("parsed a bhttp-js response as %+v", resp)
	}

	// We encode (known-length, as the gateway's plain answers and the
	// client's requests are), bhttp-js parses.
	ours := &bhttp.Request{Method: "PUT", Scheme: "https", Authority: "issuer.example", Path: "/v1/orders?x=1",
		Header:  []bhttp.Field{{Name: "content-type", Value: "application/json"}, {Name: "idempotency-key", Value: "k1"}},
		Content: []byte(`{"plan":"starter"}`)}
	ourResp := &bhttp.Response{Status: 409, Header: []bhttp.Field{{Name: "content-type", Value: "application/problem+json"}},
		Content: []byte(`{"type":"x"}`)}
	var dec struct {
		Method, URL, RequestBody, ResponseBody string
		RequestHeaders, ResponseHeaders        map[string]string
		Status                                 int
	}
	if err := json.Unmarshal(node("decode", hex.EncodeToString(ours.Marshal()), hex.EncodeToString(ourResp.Marshal())), &dec); err != nil {
		t.Fatal(err)
	}
	if dec.Method != "PUT" || dec.URL != "https://issuer.example/v1/orders?x=1" || dec.RequestBody != `{"plan":"starter"}` ||
		dec.RequestHeaders["idempotency-key"] != "k1" || dec.Status != 409 ||
		dec.ResponseHeaders["content-type"] != "application/problem+json" || dec.ResponseBody != `{"type":"x"}` {
		t.Fatalf("bhttp-js read our messages as %+v", dec)
	}
}
