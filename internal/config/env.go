package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Env is a set of environment variables, name to value.
type Env map[string]string

// OSEnv is the process environment. It is the only place Blindpass reads
// environment variables from.
func OSEnv() Env {
	env := Env{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// EnvPrefix is what every variable of role starts with, e.g.
// "BLINDPASS_ISSUER_".
func EnvPrefix(role string) string { return "BLINDPASS_" + strings.ToUpper(role) + "_" }

// EnvName is the variable that overrides the field at a YAML path such as
// "database.url_file" or "gateway.upstreams.0.base_url".
func EnvName(role, path string) string {
	return strings.TrimSuffix(EnvPrefix(role), "_") + "_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
}

// applyEnv sets the fields of *cfg (a struct) from the role's variables.
// Every variable with the role's prefix must name a field.
func applyEnv(role string, env Env, cfg any) error {
	a := envApplier{env: env, used: map[string]bool{}}
	prefix := strings.TrimSuffix(EnvPrefix(role), "_")
	a.structFields(prefix, "", reflect.ValueOf(cfg).Elem())
	var unknown []string
	for k, v := range env {
		if strings.HasPrefix(k, EnvPrefix(role)) && v != "" && !a.used[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		a.errs = append(a.errs, fmt.Errorf("environment: %s names no %s setting", k, role))
	}
	return errors.Join(a.errs...)
}

type envApplier struct {
	env  Env
	used map[string]bool
	errs []error
}

var durationType = reflect.TypeFor[time.Duration]()

// structFields applies the variables under prefix to the fields of v.
func (a *envApplier) structFields(prefix, path string, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if isInline(f) {
			a.structFields(prefix, path, v.Field(i))
			continue
		}
		key := yamlKey(f)
		if key == "" {
			continue
		}
		fieldPath := key
		if path != "" {
			fieldPath = path + "." + key
		}
		a.field(prefix+"_"+strings.ToUpper(key), fieldPath, v.Field(i))
	}
}

// field applies the variable name (and, for lists of structs, its indexed
// variables) to v.
func (a *envApplier) field(name, path string, v reflect.Value) {
	switch {
	case v.Kind() == reflect.Struct:
		a.structFields(name, path, v)
		return
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		if s := a.take(name); s != "" {
			if err := yaml.Unmarshal([]byte(s), v.Addr().Interface()); err != nil {
				a.errs = append(a.errs, fmt.Errorf("environment: %s (%s): %w", name, path, err))
			}
		}
		a.elements(name, path, v)
		return
	}
	s := a.take(name)
	if s == "" {
		return
	}
	if err := setScalar(v, s); err != nil {
		a.errs = append(a.errs, fmt.Errorf("environment: %s (%s): %w", name, path, err))
	}
}

// elements applies NAME_<i>_<FIELD> variables to the elements of the list
// v; index len(v) appends an element.
func (a *envApplier) elements(name, path string, v reflect.Value) {
	var idx []int
	for k, val := range a.env {
		rest, ok := strings.CutPrefix(k, name+"_")
		if !ok || val == "" {
			continue
		}
		digits, _, ok := strings.Cut(rest, "_")
		if n, err := strconv.Atoi(digits); ok && err == nil && n >= 0 && strconv.Itoa(n) == digits && !slices.Contains(idx, n) {
			idx = append(idx, n)
		}
	}
	slices.Sort(idx)
	for _, n := range idx {
		if n > v.Len() {
			a.errs = append(a.errs, fmt.Errorf("environment: %s_%d_…: %s has %d elements; an index may be at most the length (to append one)", name, n, path, v.Len()))
			continue
		}
		if n == v.Len() {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		}
		a.structFields(fmt.Sprintf("%s_%d", name, n), fmt.Sprintf("%s[%d]", path, n), v.Index(n))
	}
}

// take returns the variable's value and marks it used.
func (a *envApplier) take(name string) string {
	s := a.env[name]
	if s != "" {
		a.used[name] = true
	}
	return s
}

// isInline reports whether f is an embedded struct tagged ",inline".
func isInline(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return f.Type.Kind() == reflect.Struct && slices.Contains(strings.Split(opts, ","), "inline")
}

// yamlKey is the field's YAML key; "" for fields that are not configured
// (unexported, or tagged "-").
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return tag
}

// setScalar parses s into v by v's type.
func setScalar(v reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration (like 90s, 5m, 1440h): %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		v.SetBool(b)
	case v.CanInt():
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case v.CanUint():
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a non-negative integer: %q", s)
		}
		v.SetUint(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		v.Set(reflect.ValueOf(out).Convert(v.Type()))
	default:
		return fmt.Errorf("fields of type %s cannot be set from the environment", v.Type())
	}
	return nil
}

// envNames lists the variables for every field of cfg's type (lists of
// structs with "<i>" for the index); for documentation and tests.
func envNames(role string, cfg any) []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if isInline(f) {
				walk(prefix, f.Type)
				continue
			}
			key := yamlKey(f)
			if key == "" {
				continue
			}
			name := prefix + "_" + strings.ToUpper(key)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != durationType:
				walk(name, f.Type)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				out = append(out, name)
				walk(name+"_<i>", f.Type.Elem())
			default:
				out = append(out, name)
			}
		}
	}
	walk(strings.TrimSuffix(EnvPrefix(role), "_"), reflect.TypeOf(cfg).Elem())
	return out
}
