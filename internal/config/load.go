package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFile bounds a configuration file.
const maxFile = 1 << 20

// decodeFile reads the YAML file at path into *cfg strictly: an unknown key
// is an error naming the key and its line.
func decodeFile(path string, cfg any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(b) > maxFile {
		return fmt.Errorf("config: %s is larger than %d bytes", path, maxFile)
	}
	if err := decode(b, cfg); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// decode parses one YAML document into *cfg, rejecting unknown keys.
func decode(b []byte, cfg any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file is empty")
		}
		return friendlyYAMLError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("the file has more than one YAML document")
	}
	return nil
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)

// friendlyYAMLError rewrites yaml.v3's "field x not found in type
// config.Issuer" as "unknown key "x"", keeping the line numbers.
func friendlyYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if g := unknownField.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("line %s: unknown key %q", g[1], g[2])
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

// load decodes path into cfg, applies role's environment, then checks it.
func load[T interface{ validate() error }](role, path string, env Env, cfg T) error {
	if path == "" {
		return fmt.Errorf("config: no %s configuration file given", role)
	}
	if err := decodeFile(path, cfg); err != nil {
		return err
	}
	if err := applyEnv(role, env, cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}
