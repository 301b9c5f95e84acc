package ohttp

import (
	"bufio"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"

	"github.com/blindpass/blindpass/internal/varint"
)

// MaxChunk is the largest chunk plaintext this package reads (the draft's
// 2^14 that every implementation must accept, times four). Writers split
// larger writes.
const MaxChunk = 1 << 16

const tagSize = 16 // AES-128-GCM

var finalAAD = []byte("final")

// ChunkedRequest is a client's chunked encapsulated request
// (draft-ietf-ohai-chunked-ohttp §3, §6.1): Header, then SealChunk for each
// piece and SealFinal once.
type ChunkedRequest struct {
	hdr    []byte
	sealer hpke.Sealer
	enc    []byte
}

// NewChunkedRequest sets up a chunked request to the gateway key c. rand
// nil means crypto/rand.
func NewChunkedRequest(c KeyConfig, rand io.Reader) (*ChunkedRequest, error) {
	hdr, enc, s, err := setupSender(c, labelChunkedRequest, rand)
	if err != nil {
		return nil, err
	}
	return &ChunkedRequest{hdr: append(hdr, enc...), sealer: s, enc: enc}, nil
}

// Header is the Chunked Request Header: key id, algorithms and enc.
func (r *ChunkedRequest) Header() []byte { return r.hdr }

// SealChunk encrypts one non-final chunk with its length prefix. An empty
// chunk is refused (the receiver would treat it as an error).
func (r *ChunkedRequest) SealChunk(pt []byte) ([]byte, error) {
	if len(pt) == 0 {
		return nil, errors.New("ohttp: a non-final chunk cannot be empty")
	}
	ct, err := r.sealer.Seal(pt, nil)
	if err != nil {
		return nil, fmt.Errorf("ohttp: seal: %w", err)
	}
	return append(varint.Append(nil, uint64(len(ct))), ct...), nil
}

// SealFinal encrypts the final chunk (possibly empty) with its zero prefix.
func (r *ChunkedRequest) SealFinal(pt []byte) ([]byte, error) {
	ct, err := r.sealer.Seal(pt, finalAAD)
	if err != nil {
		return nil, fmt.Errorf("ohttp: seal: %w", err)
	}
	return append([]byte{0}, ct...), nil
}

// EncapsulateChunked is a whole request as one chunked message: the header
// and msg as the final chunk.
func EncapsulateChunked(c KeyConfig, msg []byte, rand io.Reader) ([]byte, *ChunkedRequest, error) {
	r, err := NewChunkedRequest(c, rand)
	if err != nil {
		return nil, nil, err
	}
	f, err := r.SealFinal(msg)
	if err != nil {
		return nil, nil, err
	}
	return append(append([]byte{}, r.hdr...), f...), r, nil
}

// OpenResponse returns the plaintext of a chunked encapsulated response read
// from body as it arrives. Its Read fails if a chunk does not authenticate
// or the response ends before its final chunk.
func (r *ChunkedRequest) OpenResponse(body io.Reader) io.Reader {
	return &responseReader{ctx: r.sealer, enc: r.enc, src: bufio.NewReaderSize(body, 4096)}
}

type responseReader struct {
	ctx   hpke.Context
	enc   []byte
	src   *bufio.Reader
	aead  cipher.AEAD
	iv    []byte
	count uint64
	buf   []byte
	done  bool
	err   error
}

func (rr *responseReader) Read(p []byte) (int, error) {
	for len(rr.buf) == 0 {
		if rr.err != nil {
			return 0, rr.err
		}
		if rr.done {
			return 0, io.EOF
		}
		rr.err = rr.next()
	}
	n := copy(p, rr.buf)
	rr.buf = rr.buf[n:]
	return n, nil
}

func (rr *responseReader) next() error {
	if rr.aead == nil {
		nonce := make([]byte, responseNonce)
		if _, err := io.ReadFull(rr.src, nonce); err != nil {
			return fmt.Errorf("%w: response nonce: %v", ErrMalformed, noEOF(err))
		}
		aead, iv, err := responseKeys(rr.ctx, labelChunkedResponse, rr.enc, nonce)
		if err != nil {
			return err
		}
		rr.aead, rr.iv = aead, iv
	}
	ct, final, err := readChunk(rr.src)
	if err != nil {
		return err
	}
	nonce := chunkNonce(rr.iv, rr.count)
	rr.count++
	var aad []byte
	if final {
		aad = finalAAD
	}
	pt, err := rr.aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return fmt.Errorf("%w: response chunk %d", ErrDecrypt, rr.count-1)
	}
	if len(pt) == 0 && !final {
		return fmt.Errorf("%w: empty non-final chunk", ErrMalformed)
	}
	rr.buf, rr.done = pt, final
	return nil
}

func chunkNonce(iv []byte, counter uint64) []byte {
	n := append([]byte(nil), iv...)
	for i := 0; i < 8; i++ {
		n[len(n)-1-i] ^= byte(counter >> (8 * i))
	}
	return n
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readChunk reads one length-prefixed chunk; a zero length marks the final
// chunk, which runs to the end of src. The input may not end before a final
// chunk.
func readChunk(src *bufio.Reader) (ct []byte, final bool, err error) {
	n, err := varint.Read(src)
	if err != nil {
		return nil, false, fmt.Errorf("%w: message ends before its final chunk: %v", ErrMalformed, noEOF(err))
	}
	if n == 0 {
		ct, err := io.ReadAll(io.LimitReader(src, MaxChunk+tagSize+1))
		if err != nil {
			return nil, false, err
		}
		if len(ct) > MaxChunk+tagSize {
			return nil, false, fmt.Errorf("%w: final chunk over %d bytes", ErrMalformed, MaxChunk)
		}
		return ct, true, nil
	}
	if n > MaxChunk+tagSize {
		return nil, false, fmt.Errorf("%w: chunk of %d bytes (limit %d)", ErrMalformed, n, MaxChunk+tagSize)
	}
	ct = make([]byte, n)
	if _, err := io.ReadFull(src, ct); err != nil {
		return nil, false, fmt.Errorf("%w: chunk: %v", ErrMalformed, noEOF(err))
	}
	return ct, false, nil
}

// ChunkedRequestReader is a gateway's view of a chunked encapsulated
// request: Read returns the plaintext chunk by chunk and io.EOF only after
// the final chunk authenticated.
type ChunkedRequestReader struct {
	o    hpke.Opener
	enc  []byte
	src  *bufio.Reader
	buf  []byte
	done bool
	err  error
}

// OpenChunkedRequest reads the Chunked Request Header from body and sets up
// decryption. It fails with ErrUnknownKey for a key identifier not in ks.
func (ks Keys) OpenChunkedRequest(body io.Reader) (*ChunkedRequestReader, error) {
	src := bufio.NewReaderSize(body, 4096)
	hdr := make([]byte, headerSize+encSize)
	n, err := io.ReadFull(src, hdr)
	if err != nil {
		if n > 0 && ks.find(hdr[0]) == nil {
			return nil, fmt.Errorf("%w: %d", ErrUnknownKey, hdr[0])
		}
		return nil, fmt.Errorf("%w: chunked request header: %v", ErrMalformed, noEOF(err))
	}
	o, enc, err := ks.openHeader(hdr, labelChunkedRequest)
	if err != nil {
		return nil, err
	}
	return &ChunkedRequestReader{o: o, enc: enc, src: src}, nil
}

func (cr *ChunkedRequestReader) Read(p []byte) (int, error) {
	for len(cr.buf) == 0 {
		if cr.err != nil {
			return 0, cr.err
		}
		if cr.done {
			return 0, io.EOF
		}
		ct, final, err := readChunk(cr.src)
		if err != nil {
			cr.err = err
			continue
		}
		var aad []byte
		if final {
			aad = finalAAD
		}
		pt, err := cr.o.Open(ct, aad)
		if err != nil {
			cr.err = fmt.Errorf("%w: request chunk", ErrDecrypt)
			continue
		}
		if len(pt) == 0 && !final {
			cr.err = fmt.Errorf("%w: empty non-final chunk", ErrMalformed)
			continue
		}
		cr.buf, cr.done = pt, final
	}
	n := copy(p, cr.buf)
	cr.buf = cr.buf[n:]
	return n, nil
}

// ChunkedResponseWriter encrypts a response chunk by chunk into w
// (draft-ietf-ohai-chunked-ohttp §6.2): every Write is sealed and written at
// once (split at MaxChunk); Close writes the final, empty chunk.
type ChunkedResponseWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	iv     []byte
	nonce  []byte
	count  uint64
	closed bool
}

// NewResponseWriter starts the response to this request. rand nil means
// crypto/rand. The response nonce is written with the first chunk.
func (cr *ChunkedRequestReader) NewResponseWriter(w io.Writer, rand io.Reader) (*ChunkedResponseWriter, error) {
	if rand == nil {
		rand = cryptoRand
	}
	nonce := make([]byte, responseNonce)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("ohttp: response nonce: %w", err)
	}
	aead, iv, err := responseKeys(cr.o, labelChunkedResponse, cr.enc, nonce)
	if err != nil {
		return nil, err
	}
	return &ChunkedResponseWriter{w: w, aead: aead, iv: iv, nonce: nonce}, nil
}

func (cw *ChunkedResponseWriter) Write(p []byte) (int, error) {
	if cw.closed {
		return 0, errors.New("ohttp: write after close")
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), MaxChunk)
		if err := cw.seal(p[:n], false); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// Close writes the final chunk. It does not close the underlying writer.
func (cw *ChunkedResponseWriter) Close() error {
	if cw.closed {
		return nil
	}
	cw.closed = true
	return cw.seal(nil, true)
}

func (cw *ChunkedResponseWriter) seal(pt []byte, final bool) error {
	out := cw.nonce
	cw.nonce = nil
	var aad []byte
	if final {
		aad = finalAAD
		out = append(out, 0)
	} else {
		out = varint.Append(out, uint64(len(pt)+tagSize))
	}
	out = cw.aead.Seal(out, chunkNonce(cw.iv, cw.count), pt, aad)
	cw.count++
	_, err := cw.w.Write(out)
	return err
}
