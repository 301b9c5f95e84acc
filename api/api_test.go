// Package api holds the interface documents (openapi.yaml, problems.md);
// its tests keep them true to the code.
package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// problemCodes finds every problem code the code can send: the string
// literal second argument of problem.Define/New/Newf/Wrap outside tests.
func problemCodes(t *testing.T) map[string][]string {
	t.Helper()
	codes := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			inProblem := strings.Contains(path, filepath.Join("internal", "problem"))
			if !(ok && pkg.Name == "problem") && !inProblem {
				return true
			}
			switch sel.Sel.Name {
			case "Define", "New", "Newf", "Wrap":
			default:
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			code, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			codes[code] = append(codes[code], fset.Position(lit.Pos()).String())
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

// TestProblemCodesDocumented fails when a problem code the servers can send
// is missing from problems.md (independent clients are written against it).
func TestProblemCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("problems.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	codes := problemCodes(t)
	if len(codes) < 20 {
		t.Fatalf("found only %d problem codes: the scanner is broken", len(codes))
	}
	var missing []string
	for code, where := range codes {
		if !documented[code] {
			missing = append(missing, code+" ("+where[0]+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("problem codes missing from api/problems.md:\n  %s", strings.Join(missing, "\n  "))
	}
}
