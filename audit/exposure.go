package audit

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strings"
)

// Encodings returns the forms a secret is looked for in: the raw bytes,
// hex in both cases, base64 in the standard and URL alphabets with and
// without padding.
func Encodings(raw []byte) []string {
	return []string{
		string(raw),
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
	}
}

// pattern is one form of one secret.
type pattern struct {
	secret int
	text   string
}

// exposures finds every secret outside the places it is allowed in, and
// every IPv4 address that is not a server's.
func exposures(e *Evidence, k Knowledge) []Finding {
	// Index the patterns by their first Window bytes, then slide a window
	// over every item: one map lookup per byte of evidence.
	index := map[string][]pattern{}
	for i, s := range k.Secrets {
		forms := append(Encodings(s.Value), s.Text...)
		if len(s.Value) == 0 {
			forms = s.Text
		}
		seen := map[string]bool{}
		for _, f := range forms {
			if len(f) < Window || seen[f] {
				continue // too short to look for without noise
			}
			seen[f] = true
			index[f[:Window]] = append(index[f[:Window]], pattern{i, f})
		}
	}
	servers := map[string]bool{}
	for _, ip := range k.ServerIPs {
		servers[ip] = true
	}
	var out []Finding
	for _, it := range e.Items {
		b := it.bytes()
		if len(b) == 0 {
			continue
		}
		found := map[int]bool{}
		for i := 0; i+Window <= len(b); i++ {
			for _, p := range index[string(b[i:i+Window])] {
				if found[p.secret] || !strings.HasPrefix(string(b[i:]), p.text) {
					continue
				}
				found[p.secret] = true
				s := k.Secrets[p.secret]
				if !matchPlace(it, s.AllowedIn) {
					out = append(out, Finding{Check: CheckExposure, What: "secret " + s.Name, At: it.Place()})
				}
			}
		}
		for _, ip := range ipv4s(b) {
			if !servers[ip] {
				out = append(out, Finding{Check: CheckExposure, What: "IP address " + ip, At: it.Place()})
			}
		}
	}
	return out
}

// ipv4Text finds dotted quads; ipv4s drops those inside a longer dotted
// run of digits (a version like 1.2.3.4.5 is not an address).
var ipv4Text = regexp.MustCompile(`\d{1,3}(?:\.\d{1,3}){3}`)

// ipv4s returns the valid IPv4 addresses written in b.
func ipv4s(b []byte) []string {
	var out []string
	digit := func(i int) bool { return i >= 0 && i < len(b) && b[i] >= '0' && b[i] <= '9' }
	for _, m := range ipv4Text.FindAllIndex(b, -1) {
		start, end := m[0], m[1]
		if digit(start-1) || (start > 0 && b[start-1] == '.' && digit(start-2)) ||
			digit(end) || (end < len(b) && b[end] == '.' && digit(end+1)) {
			continue
		}
		if a, err := netip.ParseAddr(string(b[start:end])); err == nil && a.Is4() {
			out = append(out, a.String())
		}
	}
	return out
}
