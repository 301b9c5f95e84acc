package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/ohttp"
	"github.com/blindpass/blindpass/ohttp/bhttp"
)

func newGateway(t *testing.T) (*Gateway, string, []byte) {
	path := filepath.Join(t.TempDir(), "keys.json")
	kek := bytes.Repeat([]byte{7}, keys.KEKSize)
	g, err := New(path, kek, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.ReloadEvery = -1
	return g, path, kek
}

// inner is the handler behind the gateway: it records what it was given.
type inner struct{ got *http.Request }

func (h *inner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.got = r
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Inner", "yes")
	w.WriteHeader(http.StatusTeapot)
	_, _ = w.Write(append([]byte(r.Method+" "+r.URL.RequestURI()+" "), body...))
}

func post(t *testing.T, h http.Handler, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.RemoteAddr = "198.51.100.7:4242"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestGatewayNonChunked(t *testing.T) {
	g, _, _ := newGateway(t)
	in := &inner{}
	h := g.Wrap(in)

	// The key configuration.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	cfgs, err := ohttp.ParseKeyConfigs(rec.Body.Bytes())
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ohttp.MediaTypeKeys || err != nil || len(cfgs) != 1 {
		t.Fatalf("GET: %d %q %v %v", rec.Code, rec.Header().Get("Content-Type"), cfgs, err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, Path, nil))
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d %d bytes", rec.Code, rec.Body.Len())
	}

	msg := (&bhttp.Request{Method: "POST", Scheme: "https", Authority: "redeemer.example", Path: "/v1/redeem?x=1",
		Header:  []bhttp.Field{{Name: "authorization", Value: "PrivateToken token=abc"}, {Name: "connection", Value: "close"}},
		Content: []byte("body")}).Marshal()
	enc, rc, err := ohttp.EncapsulateRequest(cfgs[0], msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec = post(t, h, ohttp.MediaTypeRequest, enc)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ohttp.MediaTypeResponse {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	plain, err := rc.OpenResponse(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := bhttp.ParseResponse(plain, bhttp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{}
	for _, f := range resp.Header {
		hdr[f.Name] = f.Value
	}
	if resp.Status != http.StatusTeapot || hdr["x-inner"] != "yes" || hdr["content-type"] != "application/problem+json" ||
		string(resp.Content) != "POST /v1/redeem?x=1 body" {
		t.Fatalf("inner response %d %v %q", resp.Status, hdr, resp.Content)
	}
	r := in.got
	if r.RemoteAddr != "0.0.0.0:0" || r.Header.Get("Authorization") != "PrivateToken token=abc" || r.Header.Get("Connection") != "" {
		t.Fatalf("inner request from %q with %v", r.RemoteAddr, r.Header)
	}
	if r.URL.Query().Get("x") != "1" {
		t.Fatalf("inner query %q", r.URL.RawQuery)
	}
}

func TestGatewayRefuses(t *testing.T) {
	g, _, _ := newGateway(t)
	in := &inner{}
	h := g.Wrap(in)
	cfg := mustConfigs(g.Configs())[0]
	problemType := func(rec *httptest.ResponseRecorder) string {
		var p struct{ Type string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		return p.Type
	}

	other, _ := ohttp.NewPrivateKey(cfg.KeyID+1, nil)
	enc, _, _ := ohttp.EncapsulateRequest(other.Config, []byte("x"), nil)
	if rec := post(t, h, ohttp.MediaTypeRequest, enc); rec.Code != 400 || problemType(rec) != KeyProblemType {
		t.Errorf("unknown key: %d %s", rec.Code, rec.Body)
	}
	enc, _, _ = ohttp.EncapsulateChunked(other.Config, []byte("x"), nil)
	if rec := post(t, h, ohttp.MediaTypeChunkedReq, enc); rec.Code != 400 || problemType(rec) != KeyProblemType {
		t.Errorf("unknown key, chunked: %d %s", rec.Code, rec.Body)
	}
	nested := (&bhttp.Request{Method: "POST", Scheme: "https", Path: Path}).Marshal()
	enc, _, _ = ohttp.EncapsulateRequest(cfg, nested, nil)
	if rec := post(t, h, ohttp.MediaTypeRequest, enc); rec.Code != 400 || !strings.HasSuffix(problemType(rec), "/bhttp-malformed") {
		t.Errorf("nested: %d %s", rec.Code, rec.Body)
	}
	enc, _, _ = ohttp.EncapsulateRequest(cfg, []byte("not bhttp"), nil)
	if rec := post(t, h, ohttp.MediaTypeRequest, enc); rec.Code != 400 || !strings.HasSuffix(problemType(rec), "/bhttp-malformed") {
		t.Errorf("not bhttp: %d %s", rec.Code, rec.Body)
	}
	enc, _, _ = ohttp.EncapsulateRequest(cfg, nested, nil)
	enc[len(enc)-1] ^= 1
	if rec := post(t, h, ohttp.MediaTypeRequest, enc); rec.Code != 400 || !strings.HasSuffix(problemType(rec), "/ohttp-decrypt") {
		t.Errorf("tampered: %d %s", rec.Code, rec.Body)
	}
	if rec := post(t, h, "application/json", []byte("{}")); rec.Code != 415 {
		t.Errorf("JSON: %d", rec.Code)
	}
	if rec := post(t, h, ohttp.MediaTypeRequest, make([]byte, MaxRequest+1)); rec.Code != 413 {
		t.Errorf("too large: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, Path, nil))
	if rec.Code != 405 || rec.Header().Get("Allow") == "" {
		t.Errorf("PUT: %d", rec.Code)
	}
	if in.got != nil {
		t.Fatalf("a refused request reached the handler: %v", in.got.URL)
	}
	// Other paths pass through untouched, address included.
	req := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
	req.RemoteAddr = "198.51.100.7:4242"
	h.ServeHTTP(httptest.NewRecorder(), req)
	if in.got == nil || in.got.RemoteAddr != "198.51.100.7:4242" {
		t.Fatal("a direct request did not reach the handler as it was")
	}
}

func TestKeyring(t *testing.T) {
	g, path, kek := newGateway(t)
	first := g.Configs()
	for range 3 {
		if _, err := Rotate(path, kek, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ks, infos, err := LoadKeys(path, kek)
	if err != nil || len(ks) != MaxKeys || len(infos) != MaxKeys {
		t.Fatalf("%d keys, %v", len(ks), err)
	}
	g.maybeReload()
	if bytes.Equal(g.Configs(), first) || len(mustConfigs(g.Configs())) != MaxKeys {
		t.Fatal("the gateway did not pick up the rotation")
	}
	if cfg := mustConfigs(g.Configs())[0]; cfg.KeyID != infos[0].ID {
		t.Fatal("the newest key is not listed first")
	}
	// Another KEK, or a key's public half swapped: refused.
	if _, _, err := LoadKeys(path, bytes.Repeat([]byte{8}, keys.KEKSize)); !errors.Is(err, keys.ErrSealed) {
		t.Fatalf("another KEK: %v", err)
	}
	b, _ := os.ReadFile(path)
	var f keyringFile
	_ = json.Unmarshal(b, &f)
	f.Keys[0].PublicKey, f.Keys[1].PublicKey = f.Keys[1].PublicKey, f.Keys[0].PublicKey
	b, _ = json.Marshal(f)
	os.WriteFile(path, b, 0o600)
	if _, _, err := LoadKeys(path, kek); err == nil {
		t.Fatal("swapped public keys loaded")
	}
	// A broken file is not picked up: the gateway keeps its keys.
	before := g.Configs()
	os.WriteFile(path, []byte("{"), 0o600)
	g.maybeReload()
	if !bytes.Equal(g.Configs(), before) {
		t.Fatal("a broken keyring replaced the loaded keys")
	}
	if st, _ := os.Stat(filepath.Dir(path)); st == nil {
		t.Fatal("no directory")
	}
}

func mustConfigs(b []byte) []ohttp.KeyConfig {
	cs, err := ohttp.ParseKeyConfigs(b)
	if err != nil {
		panic(err)
	}
	return cs
}

func TestRotateIfOlder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	kek := bytes.Repeat([]byte{7}, keys.KEKSize)
	start := time.Now()
	if err := Ensure(path, kek, start); err != nil {
		t.Fatal(err)
	}
	if r, err := RotateIfOlder(path, kek, start.Add(time.Hour), 2*time.Hour); r || err != nil {
		t.Fatalf("a young key rotated: %v %v", r, err)
	}
	// Replicas racing at the same moment: one rotates, under the lock.
	results := make(chan bool, 4)
	for range 4 {
		go func() {
			r, err := RotateIfOlder(path, kek, start.Add(3*time.Hour), 2*time.Hour)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	n := 0
	for range 4 {
		if <-results {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d replicas rotated, want 1", n)
	}
	_, infos, err := LoadKeys(path, kek)
	if err != nil || len(infos) != 2 {
		t.Fatalf("%d keys %v", len(infos), err)
	}
	// Run rotates an old keyring at once and the gateway serves the new key.
	g, err := New(filepath.Join(t.TempDir(), "keys.json"), kek, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := g.Configs()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx, time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(g.Configs(), before) {
		t.Fatal("Run did not rotate an old key")
	}
}
