package audit

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// upstreamHeaders are the only headers the upstream may receive: the
// gateway's own, set fresh for every request (and Host and Content-Length,
// which net/http writes).
var upstreamHeaders = map[string]bool{
	"Accept":          true,
	"Accept-Encoding": true,
	"Authorization":   true,
	"Content-Length":  true,
	"Content-Type":    true,
	"Host":            true,
	"User-Agent":      true,
}

// upstreamLeaks checks what the upstream received: only the gateway's
// headers, the operator's Authorization, no client identifier anywhere
// (headers, peer address, body) and no OpenAI "user" member.
func upstreamLeaks(e *Evidence, k Knowledge) []Finding {
	var out []Finding
	for i, r := range e.Upstream {
		at := func(what string) string { return fmt.Sprintf("%s:request %d %s", SourceUpstream, i+1, what) }
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			canon := http.CanonicalHeaderKey(name)
			if !upstreamHeaders[canon] {
				out = append(out, Finding{Check: CheckUpstream, What: "header " + canon + " is not one the gateway sets", At: at("header " + canon)})
			}
			for _, v := range r.Header[name] {
				if canon == "Authorization" && v != k.UpstreamAuthorization {
					out = append(out, Finding{Check: CheckUpstream, What: "an Authorization other than the operator's", At: at("header Authorization")})
				}
				if id, ok := containsAny(v, k.ClientIDs); ok {
					out = append(out, Finding{Check: CheckUpstream, What: "client identifier " + quoteShort(id), At: at("header " + canon)})
				}
			}
		}
		if id, ok := containsAny(r.RemoteAddr, k.ClientIDs); ok {
			out = append(out, Finding{Check: CheckUpstream, What: "client address " + quoteShort(id), At: at("peer")})
		}
		if id, ok := containsAny(r.Path+"?"+r.RawQuery, k.ClientIDs); ok {
			out = append(out, Finding{Check: CheckUpstream, What: "client identifier " + quoteShort(id), At: at("path")})
		}
		if id, ok := containsAny(string(r.Body), k.ClientIDs); ok {
			out = append(out, Finding{Check: CheckUpstream, What: "client identifier " + quoteShort(id), At: at("body")})
		}
		if v, ok := decodeJSON(r.Body); ok {
			if m, ok := v.(map[string]any); ok {
				if _, has := m["user"]; has {
					out = append(out, Finding{Check: CheckUpstream, What: `the OpenAI "user" member`, At: at("body")})
				}
			}
		}
	}
	return out
}

// containsAny returns the first of ids (non-empty) that s contains.
func containsAny(s string, ids []string) (string, bool) {
	for _, id := range ids {
		if id != "" && strings.Contains(s, id) {
			return id, true
		}
	}
	return "", false
}

// quoteShort quotes a value for a report, cut to 40 bytes.
func quoteShort(s string) string {
	b := []byte(s)
	if len(b) > 40 {
		b = append(bytes.Clone(b[:40]), "…"...)
	}
	return fmt.Sprintf("%q", b)
}
