package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"sort"
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
