// Package host_test enforces the host's architecture (../shared/STYLE.md, "Layout and imports"):
// imports run one way between layers, third-party packages stay inside their owner package, and no
// exported signature of an owner mentions its third-party types.
package host_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/splicehq/splice"

// layers lists the host's packages from the bottom up. A package may import packages of lower layers,
// host/internal/... and schemas; within a layer only the pairs in sameLayer.
var layers = [][]string{
	{"abi", "mapping", "keyring", "metrics", "whsig"},
	{"validate", "kv"},
	{"sandbox", "broker", "connector", "automation", "credential", "queue", "runlog", "activity", "ledger"},
	{"engine", "schedule"},
	{"ingress", "api"},
	{"server"},
}

// sameLayer lists the imports allowed within a layer, each with its reason.
var sameLayer = map[string][]string{
	"connector":  {"sandbox", "ledger"}, // loading runs describe; the catalog is ledger objects
	"credential": {"ledger"},            // credentials are ledger objects, so every ledger backend holds them
	"automation": {"ledger"},            // automations are ledger objects, as connectors and credentials are
}

// owners confines third-party packages (by path prefix) to the packages that own them.
var owners = map[string][]string{
	"github.com/tetratelabs/wazero":         {"sandbox"},
	"github.com/extism/go-sdk":              {"sandbox"},
	"github.com/dgraph-io/badger":           {"kv"},
	"github.com/valyala/fasthttp":           {"ingress", "server", "cmd/splice-load"},
	"github.com/robfig/cron":                {"schedule"},
	"github.com/santhosh-tekuri/jsonschema": {"validate"},
	"github.com/tidwall/gjson":              {"mapping", "cmd/splice-load"}, // the load tool's native ceiling maps as a hand-written handler would
	"github.com/golang-jwt/jwt":             {"api"},
	"github.com/prometheus/client_golang":   {"metrics"},
	"github.com/expr-lang/expr":             {"automation"},
}

type pkgFiles struct {
	name  string // path below host/, or "cmd/..." for commands
	files []*ast.File
}

func TestImportGraph(t *testing.T) {
	layerOf := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layerOf[p] = i
		}
	}
	for _, p := range loadPackages(t) {
		top := strings.Split(p.name, "/")[0]
		isCmd := top == "cmd"
		internal := top == "internal"
		mine, known := layerOf[top]
		if !known && !isCmd && !internal {
			t.Errorf("host/%s is in no layer: add it to layers in this test", p.name)
			continue
		}
		for _, f := range p.files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				where := p.name + ": imports " + path
				switch {
				case strings.HasPrefix(path, module+"/pdk") || strings.HasPrefix(path, module+"/connectors"):
					t.Errorf("%s: the host never imports guest code", where)
				case path == module+"/schemas" || strings.HasPrefix(path, module+"/host/internal/"):
				case strings.HasPrefix(path, module+"/host/"):
					dep := strings.Split(strings.TrimPrefix(path, module+"/host/"), "/")[0]
					theirs, ok := layerOf[dep]
					switch {
					case !ok:
						t.Errorf("%s, which is in no layer", where)
					case isCmd:
					case internal:
						t.Errorf("%s: host/internal may not import host packages", where)
					case theirs > mine:
						t.Errorf("%s, a higher layer", where)
					case dep == top: // a package's own sub-packages (ledger/ledgertest)
					case theirs == mine && !slices.Contains(sameLayer[top], dep):
						t.Errorf("%s, in the same layer (allow it in sameLayer with a reason if it is right)", where)
					}
				case strings.HasPrefix(path, module+"/"):
					t.Errorf("%s: unexpected package of this module", where)
				default:
					for prefix, allowed := range owners {
						if strings.HasPrefix(path, prefix) && !slices.Contains(allowed, top) && !slices.Contains(allowed, p.name) {
							t.Errorf("%s: only %v may import %s", where, allowed, prefix)
						}
					}
				}
			}
		}
	}
}

// TestNoThirdPartyTypesExported checks that no exported declaration of an owner package mentions a
// type of the third-party packages it owns (as in Caddy: callers never see wazero or Badger types).
func TestNoThirdPartyTypesExported(t *testing.T) {
	for _, p := range loadPackages(t) {
		for _, f := range p.files {
			thirdParty := map[string]string{}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for prefix := range owners {
					if strings.HasPrefix(path, prefix) {
						name := filepath.Base(path)
						if imp.Name != nil {
							name = imp.Name.Name
						}
						thirdParty[name] = path
					}
				}
			}
			if len(thirdParty) == 0 {
				continue
			}
			check := func(what string, n ast.Node) {
				ast.Inspect(n, func(n ast.Node) bool {
					if sel, ok := n.(*ast.SelectorExpr); ok {
						if id, ok := sel.X.(*ast.Ident); ok && thirdParty[id.Name] != "" {
							t.Errorf("host/%s: exported %s mentions %s.%s", p.name, what, id.Name, sel.Sel.Name)
						}
					}
					return true
				})
			}
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Name.IsExported() && (d.Recv == nil || exportedRecv(d.Recv)) {
						check(d.Name.Name, d.Type)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() {
								checkExportedParts(s.Type, func(n ast.Node) { check(s.Name.Name, n) })
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && s.Type != nil {
									check(n.Name, s.Type)
								}
							}
						}
					}
				}
			}
		}
	}
}

// checkExportedParts calls check on the parts of a type that callers see: exported struct fields and
// interface methods, or the whole type otherwise.
func checkExportedParts(typ ast.Expr, check func(ast.Node)) {
	switch tt := typ.(type) {
	case *ast.StructType:
		for _, fld := range tt.Fields.List {
			for _, n := range fld.Names {
				if n.IsExported() {
					check(fld.Type)
				}
			}
			if len(fld.Names) == 0 {
				check(fld.Type)
			}
		}
	case *ast.InterfaceType:
		check(tt)
	default:
		check(typ)
	}
}

func exportedRecv(r *ast.FieldList) bool {
	t := r.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// loadPackages parses the non-test Go files of host/ and cmd/.
func loadPackages(t *testing.T) []pkgFiles {
	t.Helper()
	byDir := map[string]*pkgFiles{}
	fset := token.NewFileSet()
	for _, root := range []string{".", "../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			full, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			full.Imports = f.Imports
			dir := filepath.ToSlash(filepath.Dir(path))
			name := strings.TrimPrefix(strings.TrimPrefix(dir, "./"), "../")
			if byDir[dir] == nil {
				byDir[dir] = &pkgFiles{name: name}
			}
			byDir[dir].files = append(byDir[dir].files, full)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []pkgFiles
	for _, p := range byDir {
		out = append(out, *p)
	}
	if len(out) < 3 {
		t.Fatalf("found only %d packages; is the test running in host/?", len(out))
	}
	return out
}
