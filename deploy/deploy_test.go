// Package deploy holds the container image, compose file and Kubernetes
// manifests. Nothing here can be run without a container engine or a
// cluster, so this test parses them and checks what must hold: non-root,
// read-only, no privilege, probes on /healthz and /readyz, resources,
// disruption budgets, a migration job, placeholder-only secrets, and every
// secret file a role's configuration names actually mounted where it looks.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/blindpass/blindpass/internal/config"
)

// obj is a parsed YAML mapping.
type obj = map[string]any

func readDocs(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []obj
	for {
		var o obj
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// get walks a path of keys (and list indexes) through nested YAML.
func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := o.(obj)
			if !ok {
				return nil
			}
			o = m[k]
		case int:
			l, ok := o.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func str(o any, path ...any) string { s, _ := get(o, path...).(string); return s }

func list(o any, path ...any) []any { l, _ := get(o, path...).([]any); return l }

func strs(o any, path ...any) []string {
	var out []string
	for _, v := range list(o, path...) {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// roles are the production roles: their config file, shutdown timeout and
// API port.
var roles = map[string]struct {
	configFile string
	port       int
}{
	"issuer":   {"config/issuer.yaml", 8700},
	"redeemer": {"config/redeemer.yaml", 8701},
	"admin":    {"config/admin.yaml", 8702},
}

// secretFiles lists the values of every "*_file" key in a role's config,
// with the environment overrides in env applied, by YAML path.
func secretFiles(t *testing.T, role string, env map[string]string) map[string]string {
	t.Helper()
	var root obj
	b, err := os.ReadFile(roles[role].configFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case obj:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s.%d", path, i), e)
			}
		case string:
			if strings.HasSuffix(path, "_file") {
				out[path] = x
			}
		}
	}
	walk("", root)
	for path := range out {
		if v, ok := env[config.EnvName(role, path)]; ok {
			out[path] = v
		}
	}
	return out
}

// shutdownTimeout is the role's shutdown_timeout in its example config.
func shutdownTimeout(t *testing.T, role string) time.Duration {
	t.Helper()
	var c struct {
		ShutdownTimeout string `yaml:"shutdown_timeout"`
	}
	b, _ := os.ReadFile(roles[role].configFile)
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	d, err := time.ParseDuration(c.ShutdownTimeout)
	if err != nil {
		t.Fatalf("%s: shutdown_timeout: %v", role, err)
	}
	return d
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user, entrypoint string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entrypoint = strings.Join(f[1:], " ")
		}
	}
	if len(froms) < 2 {
		t.Errorf("not a multi-stage build: FROM %q", froms)
	}
	final := froms[len(froms)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q is neither distroless/static nor scratch", final)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Error("the binary is not built with CGO_ENABLED=0 (static)")
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must run as a non-root user", user)
	}
	if !strings.HasPrefix(entrypoint, "[") {
		t.Errorf("ENTRYPOINT %s: use the exec form (there is no shell in the image)", entrypoint)
	}
}

func TestCompose(t *testing.T) {
	docs := readDocs(t, "docker-compose.yaml")
	c := docs[0]
	services, _ := c["services"].(obj)
	for _, name := range []string{"postgres", "migrate", "issuer", "redeemer", "admin"} {
		if services[name] == nil {
			t.Errorf("no %s service", name)
		}
	}
	topSecrets, _ := c["secrets"].(obj)
	for name, s := range topSecrets {
		if f := str(s, "file"); !strings.HasPrefix(f, "./secrets/") {
			t.Errorf("secret %s comes from %q, not from ./secrets/ (made by make-secrets.sh)", name, f)
		}
	}
	if script, err := os.ReadFile("make-secrets.sh"); err != nil {
		t.Error(err)
	} else {
		for name := range topSecrets {
			if !regexp.MustCompile(`(put|pwfile) ` + name + `\b`).Match(script) {
				t.Errorf("make-secrets.sh does not make secrets/%s", name)
			}
		}
	}
	if args := strs(services, "migrate", "command"); len(args) == 0 || args[0] != "migrate" || !slices.Contains(args, "--database-url-file") {
		t.Errorf("migrate service runs %q", args)
	}
	for name, svc := range services {
		if !strings.Contains(str(svc, "image"), "blindpassd") {
			continue
		}
		if u := str(svc, "user"); u == "" || strings.HasPrefix(u, "0") {
			t.Errorf("%s: user %q", name, u)
		}
		if get(svc, "read_only") != true {
			t.Errorf("%s: root file system not read-only", name)
		}
		if !slices.Contains(strs(svc, "cap_drop"), "ALL") {
			t.Errorf("%s: capabilities not dropped", name)
		}
		for _, v := range strs(svc, "environment") {
			if strings.Contains(strings.ToLower(v), "postgres://") {
				t.Errorf("%s: a database URL in the environment: %s", name, v)
			}
		}
		role := strs(svc, "command")[0]
		if _, ok := roles[role]; !ok {
			continue
		}
		if hc := strings.Join(strs(svc, "healthcheck", "test"), " "); !strings.Contains(hc, "probe") || !strings.Contains(hc, "/readyz") {
			t.Errorf("%s: healthcheck %q does not probe /readyz", name, hc)
		}
		env := map[string]string{}
		for k, v := range get(svc, "environment").(obj) {
			env[k] = fmt.Sprint(v)
		}
		mounted := map[string]bool{}
		for _, s := range strs(svc, "secrets") {
			mounted["/run/secrets/"+s] = true
		}
		for path, file := range secretFiles(t, role, env) {
			if !mounted[file] && !strings.HasPrefix(file, "/etc/blindpass/") {
				t.Errorf("%s: %s is %s, which the service does not mount", name, path, file)
			}
		}
		grace, err := time.ParseDuration(str(svc, "stop_grace_period"))
		if err != nil || grace <= shutdownTimeout(t, role) {
			t.Errorf("%s: stop_grace_period %q is not longer than shutdown_timeout %s", name, str(svc, "stop_grace_period"), shutdownTimeout(t, role))
		}
	}
}

// k8sObjects parses every manifest listed in kustomization.yaml.
func k8sObjects(t *testing.T) []obj {
	t.Helper()
	k := readDocs(t, "kustomization.yaml")[0]
	listed := strs(k, "resources")
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		if !slices.Contains(listed, f) {
			t.Errorf("%s is not in kustomization.yaml", f)
		}
	}
	for _, f := range strs(k, "configMapGenerator", 0, "files") {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("kustomization.yaml: %v", err)
		}
	}
	var out []obj
	for _, f := range listed {
		out = append(out, readDocs(t, f)...)
	}
	return out
}

func labelsMatch(selector, labels any) bool {
	sel, _ := selector.(obj)
	lab, _ := labels.(obj)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if lab[k] != v {
			return false
		}
	}
	return true
}

// checkPod checks the pod template every workload shares.
func checkPod(t *testing.T, name string, pod obj) {
	t.Helper()
	if get(pod, "spec", "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", name)
	}
	if get(pod, "spec", "automountServiceAccountToken") != false {
		t.Errorf("%s: the service account token is mounted", name)
	}
	containers := append(list(pod, "spec", "initContainers"), list(pod, "spec", "containers")...)
	for _, c := range containers {
		cn := name + "/" + str(c, "name")
		sc := get(c, "securityContext")
		if get(sc, "readOnlyRootFilesystem") != true {
			t.Errorf("%s: readOnlyRootFilesystem is not true", cn)
		}
		if get(sc, "allowPrivilegeEscalation") != false {
			t.Errorf("%s: allowPrivilegeEscalation is not false", cn)
		}
		if !slices.Contains(strs(sc, "capabilities", "drop"), "ALL") {
			t.Errorf("%s: capabilities are not dropped", cn)
		}
		for _, kind := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if get(c, "resources", kind, res) == nil {
					t.Errorf("%s: no resources.%s.%s", cn, kind, res)
				}
			}
		}
		if !strings.Contains(str(c, "image"), "blindpassd") {
			t.Errorf("%s: image %q", cn, str(c, "image"))
		}
		for _, e := range list(c, "env") {
			if strings.Contains(str(e, "value"), "postgres://") {
				t.Errorf("%s: a database URL in the environment", cn)
			}
		}
	}
}

// mountedFiles lists the files a container sees from secret and projected
// volumes, and the files its pod's init containers write (copy-kek).
func mountedFiles(pod, container obj) map[string]bool {
	vols := map[string]any{}
	for _, v := range list(pod, "spec", "volumes") {
		vols[str(v, "name")] = v
	}
	out := map[string]bool{}
	for _, m := range list(container, "volumeMounts") {
		v := vols[str(m, "name")]
		dir := str(m, "mountPath")
		var items []any
		items = append(items, list(v, "secret", "items")...)
		items = append(items, list(v, "configMap", "items")...)
		for _, src := range list(v, "projected", "sources") {
			items = append(items, list(src, "secret", "items")...)
		}
		for _, it := range items {
			out[dir+"/"+str(it, "path")] = true
		}
		if get(v, "configMap") != nil && list(v, "configMap", "items") == nil {
			out[dir+"/*"] = true // the whole ConfigMap
		}
	}
	for _, ic := range list(pod, "spec", "initContainers") {
		if args := strs(ic, "args"); len(args) == 4 && args[1] == "copy-kek" {
			out[args[3]] = true
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	objs := k8sObjects(t)
	byKind := map[string][]obj{}
	for _, o := range objs {
		byKind[str(o, "kind")] = append(byKind[str(o, "kind")], o)
	}

	for _, s := range byKind["Secret"] {
		for k, v := range get(s, "stringData").(obj) {
			if !strings.Contains(fmt.Sprint(v), "REPLACE") {
				t.Errorf("secret %s/%s is not a placeholder: only example secrets are shipped", str(s, "metadata", "name"), k)
			}
		}
		if get(s, "data") != nil {
			t.Errorf("secret %s has data: only placeholders in stringData are shipped", str(s, "metadata", "name"))
		}
	}

	jobs := byKind["Job"]
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs, want the migration Job", len(jobs))
	}
	job := get(jobs[0], "spec", "template").(obj)
	checkPod(t, "job", job)
	if args := strs(job, "spec", "containers", 0, "args"); len(args) < 3 || args[0] != "migrate" || args[1] != "--database-url-file" ||
		!mountedFiles(job, get(job, "spec", "containers", 0).(obj))[args[2]] {
		t.Errorf("migration job runs %q without its URL file mounted", args)
	}
	if rp := str(job, "spec", "restartPolicy"); rp != "OnFailure" && rp != "Never" {
		t.Errorf("migration job restartPolicy %q", rp)
	}

	seen := map[string]bool{}
	for _, d := range byKind["Deployment"] {
		name := str(d, "metadata", "name")
		pod := get(d, "spec", "template").(obj)
		checkPod(t, name, pod)
		if !labelsMatch(get(d, "spec", "selector", "matchLabels"), get(pod, "metadata", "labels")) {
			t.Errorf("%s: the selector does not match the pod labels", name)
		}
		c := get(pod, "spec", "containers", 0).(obj)
		args := strs(c, "args")
		role := args[0]
		r, ok := roles[role]
		if !ok || len(args) != 3 || args[1] != "--config" || args[2] != "/etc/blindpass/"+filepath.Base(r.configFile) {
			t.Errorf("%s: runs %q, want <role> --config /etc/blindpass/<role>.yaml", name, args)
			continue
		}
		seen[role] = true

		ports := map[string]int{}
		for _, p := range list(c, "ports") {
			ports[str(p, "name")] = get(p, "containerPort").(int)
		}
		if ports["http"] != r.port || ports["metrics"] == 0 {
			t.Errorf("%s: ports %v, want http %d and metrics", name, ports, r.port)
		}
		for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
			if str(c, probe, "httpGet", "path") != path || str(c, probe, "httpGet", "port") != "http" {
				t.Errorf("%s: %s is not GET %s on the http port", name, probe, path)
			}
		}
		grace, _ := get(pod, "spec", "terminationGracePeriodSeconds").(int)
		if time.Duration(grace)*time.Second <= shutdownTimeout(t, role) {
			t.Errorf("%s: terminationGracePeriodSeconds %d is not longer than shutdown_timeout %s", name, grace, shutdownTimeout(t, role))
		}

		env := map[string]string{}
		for _, e := range list(c, "env") {
			env[str(e, "name")] = str(e, "value")
		}
		files := mountedFiles(pod, c)
		if !files["/etc/blindpass/*"] {
			t.Errorf("%s: the configuration is not mounted at /etc/blindpass", name)
		}
		for path, file := range secretFiles(t, role, env) {
			if !files[file] && !strings.HasPrefix(file, "/etc/blindpass/") {
				t.Errorf("%s: %s is %s, which is not mounted (mounted: %v)", name, path, file, files)
			}
		}

		var svc, pdb bool
		for _, s := range byKind["Service"] {
			if labelsMatch(get(s, "spec", "selector"), get(pod, "metadata", "labels")) {
				for _, p := range list(s, "spec", "ports") {
					svc = svc || str(p, "targetPort") == "http"
				}
			}
		}
		for _, p := range byKind["PodDisruptionBudget"] {
			pdb = pdb || labelsMatch(get(p, "spec", "selector", "matchLabels"), get(pod, "metadata", "labels"))
		}
		if !svc {
			t.Errorf("%s: no Service sends traffic to its http port", name)
		}
		if !pdb {
			t.Errorf("%s: no PodDisruptionBudget", name)
		}
	}
	for role := range roles {
		if !seen[role] {
			t.Errorf("no Deployment runs the %s", role)
		}
	}
}

// TestCaddyfile: the example proxy keeps client addresses out of logs and
// away from Blindpass, and keeps the internal routes inside.
func TestCaddyfile(t *testing.T) {
	b, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"header_up -X-Forwarded-For", "header_up -X-Real-IP", "header_up -Forwarded", "/internal/*", "flush_interval -1"} {
		if !strings.Contains(s, want) {
			t.Errorf("Caddyfile lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*log\s*\{?\s*$`).MatchString(s) || strings.Contains(s, "output file") {
		t.Error("Caddyfile writes an access log")
	}
}

// TestCaddyConsoleAllowList: the console's allow-list, as shipped (the
// Caddyfile's default and the compose file's), lets in no address that an
// outside client can appear with behind Docker: the private ranges Docker
// takes its networks from (behind its userland proxy, and for IPv6
// clients, every client appears as the network's gateway), nor everything.
// Issue 15 (suspected item, confirmed): it listed 172.16.0.0/12, 10.0.0.0/8
// and 192.168.0.0/16; this test fails on that file.
func TestCaddyConsoleAllowList(t *testing.T) {
	b, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*@outside not remote_ip (.+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the console's site has no `@outside not remote_ip …` allow-list")
	}
	args := strings.TrimSpace(string(m[1]))
	var lists [][]string
	if env := regexp.MustCompile(`^\{\$ADMIN_ALLOW:([^}]*)\}$`).FindStringSubmatch(args); env != nil {
		lists = append(lists, strings.Fields(env[1]))
		c, err := os.ReadFile("docker-compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		dm := regexp.MustCompile(`ADMIN_ALLOW: \$\{ADMIN_ALLOW:-([^}]*)\}`).FindSubmatch(c)
		if dm == nil {
			t.Fatal("docker-compose.yaml does not pass ADMIN_ALLOW to the proxy")
		}
		lists = append(lists, strings.Fields(string(dm[1])))
	} else {
		lists = append(lists, strings.Fields(args))
	}
	docker := []netip.Prefix{
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}
	for _, list := range lists {
		if len(list) == 0 {
			t.Error("an empty allow-list: `not remote_ip` with no range")
		}
		for _, a := range list {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				t.Errorf("allow-list entry %q: %v", a, err)
				continue
			}
			for _, d := range docker {
				if p.Overlaps(d) {
					t.Errorf("the console's default allow-list has %s, which overlaps Docker's %s", p, d)
				}
			}
			if p.Bits() == 0 {
				t.Errorf("the console's default allow-list has %s: everyone", p)
			}
		}
	}
}

// TestShippedKeySchedulesAgree: the console rotates keys on the schedule
// in admin.yaml, which must be the issuer's (docs/operating.md section 9).
func TestShippedKeySchedulesAgree(t *testing.T) {
	read := func(path string) map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Keys map[string]any `yaml:"keys"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return doc.Keys
	}
	iss, adm := read("config/issuer.yaml"), read("config/admin.yaml")
	if len(iss) == 0 || fmt.Sprint(iss) != fmt.Sprint(adm) {
		t.Errorf("keys: issuer.yaml %v, admin.yaml %v: they must be equal", iss, adm)
	}
}
