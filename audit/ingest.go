package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// AddLog adds a process's output: every JSON log line field by field (keys
// and values), every other line as text.
func (e *Evidence) AddLog(side Side, source string, output []byte) {
	sc := bufio.NewScanner(bytes.NewReader(output))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", n)
		if v, ok := decodeJSON(line); ok {
			e.addJSON(side, source, where, v)
			continue
		}
		e.Add(Item{Side: side, Source: source, Where: where, Value: string(line)})
	}
}

// AddText adds text (a metrics page, a command's output) line by line.
func (e *Evidence) AddText(side Side, source string, text []byte) {
	for n, line := range strings.Split(string(text), "\n") {
		if strings.TrimSpace(line) != "" {
			e.Add(Item{Side: side, Source: source, Where: fmt.Sprintf("line %d", n+1), Value: line})
		}
	}
}

// AddRequests adds what a third party received: for each request its path,
// query, peer address, every header and the body (JSON member by member,
// forms field by field, anything else whole).
func (e *Evidence) AddRequests(side Side, source string, reqs []Request) {
	for i, r := range reqs {
		at := func(what string) string { return fmt.Sprintf("request %d %s", i+1, what) }
		e.Add(Item{Side: side, Source: source, Where: at("path"), Value: r.Path},
			Item{Side: side, Source: source, Where: at("peer"), Value: r.RemoteAddr})
		if r.RawQuery != "" {
			e.addForm(side, source, at("query"), r.RawQuery)
		}
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, v := range r.Header[name] {
				e.Add(Item{Side: side, Source: source, Where: at("header " + name), Value: v})
			}
		}
		if len(r.Body) == 0 {
			continue
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if v, ok := decodeJSON(r.Body); ok {
			e.addJSON(side, source, at("body"), v)
		} else if ct == "application/x-www-form-urlencoded" {
			e.addForm(side, source, at("form"), string(r.Body))
		} else {
			e.Add(Item{Side: side, Source: source, Where: at("body"), Value: r.Body})
		}
	}
}

// AddUpstream adds the upstream's requests on the redeemer side (source
// "upstream") and keeps them whole for the header checks.
func (e *Evidence) AddUpstream(reqs []Request) {
	e.AddRequests(Redeemer, SourceUpstream, reqs)
	e.Upstream = append(e.Upstream, reqs...)
}

// SourceUpstream is the source name of the upstream's requests.
const SourceUpstream = "upstream"

func (e *Evidence) addForm(side Side, source, where, raw string) {
	form, err := url.ParseQuery(raw)
	if err != nil {
		e.Add(Item{Side: side, Source: source, Where: where, Value: raw})
		return
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.Add(Item{Side: side, Source: source, Where: where + " key", Value: k})
		for _, v := range form[k] {
			e.Add(Item{Side: side, Source: source, Where: where + " " + k, Value: v})
		}
	}
}

// decodeJSON decodes one JSON object or array, numbers kept exact.
func decodeJSON(b []byte) (any, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return nil, false
	}
	return v, true
}

// addJSON adds every key and leaf of v.
func (e *Evidence) addJSON(side Side, source, where string, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.Add(Item{Side: side, Source: source, Where: where + " key", Value: k})
			e.addJSON(side, source, where+" "+k, x[k])
		}
	case []any:
		for i, el := range x {
			e.addJSON(side, source, fmt.Sprintf("%s[%d]", where, i), el)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			e.Add(Item{Side: side, Source: source, Where: where, Value: n})
		} else if f, err := x.Float64(); err == nil {
			e.Add(Item{Side: side, Source: source, Where: where, Value: f})
		} else {
			e.Add(Item{Side: side, Source: source, Where: where, Value: x.String()})
		}
	default:
		e.Add(Item{Side: side, Source: source, Where: where, Value: normalize(x)})
	}
}

// AddMetrics adds a Prometheus text page: for every sample its metric
// name, label values and value. Comment lines (HELP, TYPE) are the
// program's own text, the same in every process, and are left out.
func (e *Evidence) AddMetrics(side Side, source string, page []byte) {
	for n, line := range strings.Split(string(page), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("line %d", n+1)
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		e.Add(Item{Side: side, Source: source, Where: where + " name", Value: name})
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				e.Add(Item{Side: side, Source: source, Where: where, Value: line})
				continue
			}
			for _, l := range labelPairs(rest[1:end]) {
				e.Add(Item{Side: side, Source: source, Where: where + " " + l[0], Value: l[1]})
			}
			rest = rest[end+1:]
		}
		for i, f := range strings.Fields(rest) { // the value, maybe a timestamp
			if v, err := strconv.ParseFloat(f, 64); err == nil {
				e.Add(Item{Side: side, Source: source, Where: fmt.Sprintf("%s value %d", where, i), Value: v})
			} else {
				e.Add(Item{Side: side, Source: source, Where: fmt.Sprintf("%s value %d", where, i), Value: f})
			}
		}
	}
}

// labelPairs splits `a="x",b="y\"z"` into name/value pairs.
func labelPairs(s string) [][2]string {
	var out [][2]string
	for s != "" {
		eq := strings.Index(s, "=")
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return append(out, [2]string{"labels", s})
		}
		name := strings.TrimSpace(strings.TrimPrefix(s[:eq], ","))
		v, err := strconv.QuotedPrefix(s[eq+1:])
		if err != nil {
			return append(out, [2]string{"labels", s})
		}
		val, _ := strconv.Unquote(v)
		out = append(out, [2]string{name, val})
		s = strings.TrimPrefix(s[eq+1+len(v):], ",")
	}
	return out
}
