package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// Helpers shared by the fault and hostile-input tests.

// kill9 ends the process with SIGKILL, as a crash or an OOM kill would:
// no graceful shutdown, in-flight transactions are cut.
func (p *devProcess) kill9(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.done
}

// pendingBatch is a generic batch request whose client state is kept, so
// that any response to it (first try or retry) can be finalized.
type pendingBatch struct {
	body   []byte
	states []*protocol.ClientState
}

func newBatch(t *testing.T, pub *rsa.PublicKey, ch protocol.TokenChallenge, n int) pendingBatch {
	t.Helper()
	var batch protocol.GenericBatchRequest
	states := make([]*protocol.ClientState, n)
	for i := range n {
		req, st, err := protocol.NewTokenRequest(rand.Reader, pub, ch)
		if err != nil {
			t.Fatal(err)
		}
		states[i] = st
		batch.Requests = append(batch.Requests, protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: req.Marshal()})
	}
	return pendingBatch{body: batch.Marshal(), states: states}
}

// finalize turns a batch response into tokens; every one must finalize.
func (b pendingBatch) finalize(t *testing.T, body []byte) []protocol.Token {
	t.Helper()
	br, err := protocol.ParseGenericBatchResponse(body)
	if err != nil {
		t.Fatalf("batch response: %v", err)
	}
	if len(br.Responses) != len(b.states) {
		t.Fatalf("%d responses for %d requests", len(br.Responses), len(b.states))
	}
	tokens := make([]protocol.Token, len(b.states))
	for i, r := range br.Responses {
		tr, err := protocol.ParseTokenResponse(r.Raw)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if tokens[i], err = b.states[i].Finalize(tr); err != nil {
			t.Fatalf("finalize token %d: %v", i, err)
		}
	}
	return tokens
}

// issueBatch posts the batch with an Idempotency-Key.
func issueBatch(t *testing.T, issuerURL string, o order, b pendingBatch, idemKey string) (*http.Response, []byte) {
	t.Helper()
	h := o.bearer()
	h["Idempotency-Key"] = idemKey
	return do(t, http.MethodPost, issuerURL+"/v1/token-request", protocol.MediaTypeBatchRequest, b.body, h)
}

// sentReader reports on sent when the whole body has been read by the
// HTTP client, i.e. handed to the connection.
type sentReader struct {
	r    io.Reader
	once sync.Once
	sent chan struct{}
}

func (s *sentReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() { close(s.sent) })
	}
	return n, err
}

// problemCode is the last path element of a problem+json "type", or of
// "error.problem_type" in OpenAI's error shape (the gateway's routes).
func problemCode(body []byte) string {
	var p struct {
		Type  string `json:"type"`
		Error struct {
			ProblemType string `json:"problem_type"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	typ := p.Type
	if typ == "" {
		typ = p.Error.ProblemType
	}
	return typ[strings.LastIndex(typ, "/")+1:]
}

// rawResult is what a raw HTTP exchange produced.
type rawResult struct {
	status      int
	contentType string
	body        []byte
	closed      bool // the server closed the connection without an answer
}

// rawExchange writes req verbatim on a new connection to addr and reads
// one response (or the connection's end).
func rawExchange(t *testing.T, addr string, req []byte, timeout time.Duration) rawResult {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(req); err != nil {
		// The server may answer and close before it has read everything.
		t.Logf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no answer within %s", timeout)
		}
		return rawResult{closed: true}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body}
}

// hostOf strips the scheme from a base URL.
func hostOf(baseURL string) string { return strings.TrimPrefix(baseURL, "http://") }

// concurrently runs f(i) for i in [0, n) at the same moment.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

// doNoFail is do for goroutines: it reports errors instead of failing.
func doNoFail(method, url, contentType string, body []byte, header map[string]string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}
