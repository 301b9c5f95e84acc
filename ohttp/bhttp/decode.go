package bhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/blindpass/blindpass/internal/varint"
)

// source is what the decoder reads: bytes.Reader and bufio.Reader are both.
type source interface {
	io.Reader
	io.ByteReader
}

// decoder reads one message. Once the input ends where RFC 9292 §3 allows a
// message to be truncated (before a field section or the content), every
// later part is empty.
type decoder struct {
	r             source
	lim           Limits
	indeterminate bool
	truncated     bool
}

// readLen reads a varint where the message may end. ok is false when the
// input ended there.
func (d *decoder) readLen(what string) (v uint64, ok bool, err error) {
	if d.truncated {
		return 0, false, nil
	}
	v, err = varint.Read(d.r)
	if errors.Is(err, io.EOF) {
		d.truncated = true
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return v, true, nil
}

// readVarint reads a varint that must be there.
func (d *decoder) readVarint(what string) (uint64, error) {
	v, err := varint.Read(d.r)
	if err != nil {
		return 0, malformed("%s: %v", what, noEOF(err))
	}
	return v, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return varint.ErrTruncated
	}
	return err
}

func (d *decoder) readN(n uint64, max int, what string) ([]byte, error) {
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrTooLarge, what, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, malformed("%s: %v", what, noEOF(err))
	}
	return b, nil
}

// readString reads a length-prefixed string that must be there.
func (d *decoder) readString(what string, max int) (string, error) {
	n, err := d.readVarint(what + " length")
	if err != nil {
		return "", err
	}
	b, err := d.readN(n, max, what)
	return string(b), err
}

// readFields reads a header or trailer section.
func (d *decoder) readFields(what string) ([]Field, error) {
	if d.indeterminate {
		return d.readIndeterminateFields(what)
	}
	n, ok, err := d.readLen(what + " length")
	if err != nil || !ok {
		return nil, err
	}
	b, err := d.readN(n, d.lim.MaxFieldSection, what)
	if err != nil {
		return nil, err
	}
	inner := &decoder{r: bytes.NewReader(b), lim: d.lim}
	var fs []Field
	for inner.r.(*bytes.Reader).Len() > 0 {
		f, err := inner.readField(what)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (d *decoder) readIndeterminateFields(what string) ([]Field, error) {
	var fs []Field
	size := 0
	for first := true; ; first = false {
		var n uint64
		if first {
			v, ok, err := d.readLen(what)
			if err != nil || !ok {
				return nil, err
			}
			n = v
		} else {
			v, err := d.readVarint(what + " name length")
			if err != nil {
				return nil, err
			}
			n = v
		}
		if n == 0 {
			return fs, nil
		}
		f, err := d.readFieldAfterNameLen(n, what)
		if err != nil {
			return nil, err
		}
		size += len(f.Name) + len(f.Value) + 2
		if size > d.lim.MaxFieldSection {
			return nil, fmt.Errorf("%w: %s over %d bytes", ErrTooLarge, what, d.lim.MaxFieldSection)
		}
		fs = append(fs, f)
	}
}

func (d *decoder) readField(what string) (Field, error) {
	n, err := d.readVarint(what + " name length")
	if err != nil {
		return Field{}, err
	}
	return d.readFieldAfterNameLen(n, what)
}

func (d *decoder) readFieldAfterNameLen(n uint64, what string) (Field, error) {
	if n == 0 {
		return Field{}, malformed("%s: empty field name", what)
	}
	name, err := d.readN(n, d.lim.MaxFieldSection, what+" name")
	if err != nil {
		return Field{}, err
	}
	value, err := d.readString(what+" value", d.lim.MaxFieldSection)
	if err != nil {
		return Field{}, err
	}
	if !validName(string(name)) {
		return Field{}, malformed("%s: invalid field name %q", what, name)
	}
	if !validValue(value) {
		return Field{}, malformed("%s: invalid value of %q", what, name)
	}
	return Field{Name: string(name), Value: value}, nil
}

// readFraming reads the framing indicator and checks it is one of want.
func (d *decoder) readFraming(known, indeterminate uint64) error {
	v, err := d.readVarint("framing indicator")
	if err != nil {
		return err
	}
	switch v {
	case known:
	case indeterminate:
		d.indeterminate = true
	default:
		return malformed("framing indicator %d", v)
	}
	return nil
}

func (d *decoder) readRequestHead() (*Request, error) {
	if err := d.readFraming(framingKnownRequest, framingIndeterminateRequest); err != nil {
		return nil, err
	}
	r := &Request{}
	var err error
	max := d.lim.MaxFieldSection
	if r.Method, err = d.readString("method", max); err != nil {
		return nil, err
	}
	if r.Scheme, err = d.readString("scheme", max); err != nil {
		return nil, err
	}
	if r.Authority, err = d.readString("authority", max); err != nil {
		return nil, err
	}
	if r.Path, err = d.readString("path", max); err != nil {
		return nil, err
	}
	if !validMethod(r.Method) || !validControl(r.Scheme) || !validControl(r.Authority) || !validControl(r.Path) {
		return nil, malformed("invalid request control data")
	}
	if r.Header, err = d.readFields("header section"); err != nil {
		return nil, err
	}
	return r, nil
}

func (d *decoder) readResponseHead() (*Response, error) {
	if err := d.readFraming(framingKnownResponse, framingIndeterminateResp); err != nil {
		return nil, err
	}
	r := &Response{}
	for {
		st, err := d.readVarint("status code")
		if err != nil {
			return nil, err
		}
		switch {
		case st >= 100 && st < 200:
			if len(r.Informational) == d.lim.MaxInformational {
				return nil, fmt.Errorf("%w: more than %d informational responses", ErrTooLarge, d.lim.MaxInformational)
			}
			h, err := d.readFields("informational header section")
			if err != nil {
				return nil, err
			}
			if d.truncated {
				return nil, malformed("message ends after an informational response")
			}
			r.Informational = append(r.Informational, Informational{Status: int(st), Header: h})
			continue
		case st >= 200 && st <= 599:
			r.Status = int(st)
			if r.Header, err = d.readFields("header section"); err != nil {
				return nil, err
			}
			return r, nil
		default:
			return nil, malformed("status code %d", st)
		}
	}
}

// Body is the content of a message being read, then its trailer section and
// padding. Read returns io.EOF only once the whole message checked out.
type Body struct {
	d       *decoder
	started bool
	left    uint64 // bytes left in the known content or the current chunk
	done    bool
	err     error
	Trailer []Field // set once Read returned io.EOF
}

func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.read(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *Body) read(p []byte) (int, error) {
	d := b.d
	for {
		if b.done {
			return 0, io.EOF
		}
		if b.left > 0 {
			if uint64(len(p)) > b.left {
				p = p[:b.left]
			}
			n, err := d.r.Read(p)
			b.left -= uint64(n)
			if err != nil && (n == 0 || !errors.Is(err, io.EOF)) {
				return n, malformed("content: %v", noEOF(err))
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		// At a boundary: the content's start, a chunk's end or its end.
		if !d.indeterminate {
			if b.started {
				return 0, b.finish()
			}
			b.started = true
			n, ok, err := d.readLen("content length")
			if err != nil {
				return 0, err
			}
			if !ok || n == 0 {
				return 0, b.finish()
			}
			b.left = n
			continue
		}
		var n uint64
		var err error
		if !b.started {
			var ok bool
			b.started = true
			n, ok, err = d.readLen("content chunk length")
			if err == nil && !ok {
				return 0, b.finish()
			}
		} else {
			n, err = d.readVarint("content chunk length")
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, b.finish()
		}
		b.left = n
	}
}

// finish reads the trailer section and checks the padding.
func (b *Body) finish() error {
	t, err := b.d.readFields("trailer section")
	if err != nil {
		return err
	}
	if err := b.d.padding(); err != nil {
		return err
	}
	b.Trailer = t
	b.done = true
	return io.EOF
}

// padding reads the rest of the input, which must be zero bytes.
func (d *decoder) padding() error {
	var buf [512]byte
	for {
		n, err := d.r.Read(buf[:])
		for _, c := range buf[:n] {
			if c != 0 {
				return malformed("non-zero byte after the message")
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed("padding: %v", err)
		}
	}
}

// ParseRequest parses a whole request in either form.
func ParseRequest(b []byte, lim Limits) (*Request, error) {
	d := &decoder{r: bytes.NewReader(b), lim: lim.withDefaults()}
	r, err := d.readRequestHead()
	if err != nil {
		return nil, err
	}
	body := &Body{d: d}
	if r.Content, err = readContent(body, d.lim.MaxContent); err != nil {
		return nil, err
	}
	r.Trailer = body.Trailer
	return r, nil
}

// ParseResponse parses a whole response in either form.
func ParseResponse(b []byte, lim Limits) (*Response, error) {
	d := &decoder{r: bytes.NewReader(b), lim: lim.withDefaults()}
	r, err := d.readResponseHead()
	if err != nil {
		return nil, err
	}
	body := &Body{d: d}
	if r.Content, err = readContent(body, d.lim.MaxContent); err != nil {
		return nil, err
	}
	r.Trailer = body.Trailer
	return r, nil
}

func readContent(body *Body, max int) ([]byte, error) {
	c, err := io.ReadAll(io.LimitReader(body, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(c) > max {
		return nil, fmt.Errorf("%w: content over %d bytes", ErrTooLarge, max)
	}
	if !body.done {
		return nil, malformed("content did not end")
	}
	if len(c) == 0 {
		c = nil
	}
	return c, nil
}

// ReadResponse reads a response's head from r and returns it with its
// content as a stream: the Response's Content and Trailer are empty; the
// Body's Trailer is set once Body returns io.EOF. lim.MaxContent does not
// apply (the caller reads the body).
func ReadResponse(r io.Reader, lim Limits) (*Response, *Body, error) {
	src, ok := r.(source)
	if !ok {
		src = bufio.NewReader(r)
	}
	d := &decoder{r: src, lim: lim.withDefaults()}
	resp, err := d.readResponseHead()
	if err != nil {
		return nil, nil, err
	}
	return resp, &Body{d: d}, nil
}
