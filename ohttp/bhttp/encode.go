package bhttp

import (
	"strings"

	"github.com/blindpass/blindpass/internal/varint"
)

// Marshal encodes r in known-length form. Names are lowercased; the caller
// gives valid names and values (ParseRequest refuses anything else).
func (r *Request) Marshal() []byte {
	b := varint.Append(nil, framingKnownRequest)
	b = appendRequestControl(b, r)
	b = appendKnownFields(b, r.Header)
	b = appendString(b, string(r.Content))
	return appendKnownFields(b, r.Trailer)
}

// MarshalIndeterminate encodes r in indeterminate-length form, the content
// as one chunk.
func (r *Request) MarshalIndeterminate() []byte {
	b := varint.Append(nil, framingIndeterminateRequest)
	b = appendRequestControl(b, r)
	b = appendIndeterminateFields(b, r.Header)
	b = AppendChunk(b, r.Content)
	b = varint.Append(b, 0)
	return appendIndeterminateFields(b, r.Trailer)
}

// Marshal encodes r in known-length form.
func (r *Response) Marshal() []byte {
	b := varint.Append(nil, framingKnownResponse)
	for _, in := range r.Informational {
		b = varint.Append(b, uint64(in.Status))
		b = appendKnownFields(b, in.Header)
	}
	b = varint.Append(b, uint64(r.Status))
	b = appendKnownFields(b, r.Header)
	b = appendString(b, string(r.Content))
	return appendKnownFields(b, r.Trailer)
}

// MarshalIndeterminate encodes r in indeterminate-length form, the content
// as one chunk: AppendResponseHead, AppendChunk, AppendResponseEnd.
func (r *Response) MarshalIndeterminate() []byte {
	b := varint.Append(nil, framingIndeterminateResp)
	for _, in := range r.Informational {
		b = varint.Append(b, uint64(in.Status))
		b = appendIndeterminateFields(b, in.Header)
	}
	b = varint.Append(b, uint64(r.Status))
	b = appendIndeterminateFields(b, r.Header)
	b = AppendChunk(b, r.Content)
	return AppendResponseEnd(b, r.Trailer)
}

// AppendResponseHead starts a streamed indeterminate-length response: the
// framing indicator, the final status and the header section. Follow it with
// any number of AppendChunk and one AppendResponseEnd.
func AppendResponseHead(b []byte, status int, header []Field) []byte {
	b = varint.Append(b, framingIndeterminateResp)
	b = varint.Append(b, uint64(status))
	return appendIndeterminateFields(b, header)
}

// AppendChunk appends one content chunk of an indeterminate-length message.
// An empty chunk appends nothing (a zero length would end the content).
func AppendChunk(b []byte, chunk []byte) []byte {
	if len(chunk) == 0 {
		return b
	}
	b = varint.Append(b, uint64(len(chunk)))
	return append(b, chunk...)
}

// AppendResponseEnd ends the content and appends the trailer section of an
// indeterminate-length message.
func AppendResponseEnd(b []byte, trailer []Field) []byte {
	b = varint.Append(b, 0)
	return appendIndeterminateFields(b, trailer)
}

func appendRequestControl(b []byte, r *Request) []byte {
	b = appendString(b, r.Method)
	b = appendString(b, r.Scheme)
	b = appendString(b, r.Authority)
	return appendString(b, r.Path)
}

func appendString(b []byte, s string) []byte {
	b = varint.Append(b, uint64(len(s)))
	return append(b, s...)
}

func appendFieldLines(b []byte, fs []Field) []byte {
	for _, f := range fs {
		b = appendString(b, strings.ToLower(f.Name))
		b = appendString(b, f.Value)
	}
	return b
}

func appendKnownFields(b []byte, fs []Field) []byte {
	lines := appendFieldLines(nil, fs)
	b = varint.Append(b, uint64(len(lines)))
	return append(b, lines...)
}

func appendIndeterminateFields(b []byte, fs []Field) []byte {
	b = appendFieldLines(b, fs)
	return varint.Append(b, 0)
}
