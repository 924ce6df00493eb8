package slo

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFiles loads and validates spec files. A path is a file or a
// directory, whose *.yaml and *.yml files are read (not its
// subdirectories, so that testdata or drafts next to specs stay out).
// Problems of every file, including SLOs defined twice across files, come
// back together as ValidationErrors; I/O errors come back as they are.
func LoadFiles(paths ...string) ([]Spec, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && isSpecFile(e.Name()) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	return loadAll(files, os.ReadFile)
}

// LoadFS loads and validates the spec files of directory root in fsys, as
// LoadFiles does for a directory. It serves specs compiled into the binary
// (see slo/examples).
func LoadFS(fsys fs.FS, root string) ([]Spec, error) {
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && isSpecFile(e.Name()) {
			files = append(files, path.Join(root, e.Name()))
		}
	}
	return loadAll(files, func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) })
}

func isSpecFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

func loadAll(files []string, read func(string) ([]byte, error)) ([]Spec, error) {
	var specs []Spec
	var errs ValidationErrors
	for _, f := range files {
		data, err := read(f)
		if err != nil {
			return nil, err
		}
		spec, err := Parse(f, data)
		var verrs ValidationErrors
		switch {
		case errors.As(err, &verrs):
			errs = append(errs, verrs...)
		case err != nil:
			return nil, err
		}
		if spec != nil {
			specs = append(specs, *spec)
		}
	}
	errs = append(errs, checkDuplicates(specs)...)
	if len(errs) > 0 {
		return nil, dedupe(errs)
	}
	return specs, nil
}

// dedupe sorts problems and drops repeats: a duplicate within one file is
// found both by Parse and by the check across files.
func dedupe(errs ValidationErrors) ValidationErrors { return errs.Dedupe() }

// Format names a spec format by the version or apiVersion its documents
// declare.
type Format string

// Spec formats.
const (
	FormatVigil           Format = VersionVigil
	FormatSloth           Format = VersionSloth
	FormatSlothKubernetes Format = APIVersionSlothKubernetes
	FormatPyrra           Format = APIVersionPyrra
	FormatOpenSLO         Format = APIVersionOpenSLO
	FormatOpenSLOAlpha    Format = APIVersionOpenSLOAlpha
	// FormatMixed is a file whose documents are of several formats.
	FormatMixed Format = "mixed"
)

// formatKeys are the keys that name a document's format, and the formats
// each may name.
var formatKeys = map[string][]Format{
	"version":    {FormatVigil, FormatSloth},
	"apiVersion": {FormatSlothKubernetes, FormatPyrra, FormatOpenSLO, FormatOpenSLOAlpha},
}

// Parse parses and validates one spec file, whatever its format: the
// native vigil/v1 (see VersionVigil), Sloth's prometheus/v1 and
// sloth.slok.dev/v1 (see VersionSloth), Pyrra's pyrra.dev/v1alpha1 (see
// APIVersionPyrra), OpenSLO v1 and v1alpha (see APIVersionOpenSLO). A file
// may hold several YAML documents, each naming its format. file names the
// spec in positions. On problems it returns ValidationErrors listing all
// of them.
func Parse(file string, data []byte) (*Spec, error) {
	p := newProblems(file)
	docs := p.Documents(data)
	if len(docs) == 0 && len(p.Errs) == 0 {
		p.AddAt(p.Pos(nil), "empty spec")
	}
	spec := &Spec{File: file}
	var openslo []*yaml.Node
	for _, doc := range docs {
		format, node := detectFormat(doc)
		switch format {
		case FormatVigil:
			spec.SLOs = append(spec.SLOs, parseVigil(p, doc)...)
		case FormatSloth:
			spec.SLOs = append(spec.SLOs, parseSloth(p, doc)...)
		case FormatSlothKubernetes:
			spec.SLOs = append(spec.SLOs, parseSlothKubernetes(p, doc)...)
		case FormatPyrra:
			spec.SLOs = append(spec.SLOs, parsePyrra(p, doc)...)
		case FormatOpenSLO, FormatOpenSLOAlpha:
			openslo = append(openslo, doc)
		default:
			p.Add(node, "unknown spec format %q: want version %s (Vigil) or %s (Sloth), or apiVersion %s (Sloth), %s (Pyrra), %s or %s (OpenSLO)",
				format, VersionVigil, VersionSloth, APIVersionSlothKubernetes, APIVersionPyrra, APIVersionOpenSLO, APIVersionOpenSLOAlpha)
			continue
		}
		switch {
		case spec.Format == "":
			spec.Format = format
		case spec.Format != format:
			spec.Format = FormatMixed
		}
	}
	if len(openslo) > 0 {
		spec.SLOs = append(spec.SLOs, parseOpenSLO(p, openslo)...)
	}
	for i, s := range spec.SLOs {
		if i == 0 {
			spec.Service = s.Service
		} else if s.Service != spec.Service {
			spec.Service = ""
		}
	}
	for i := range spec.SLOs {
		checkSlices(p, &spec.SLOs[i])
	}
	p.Errs = append(p.Errs, checkDuplicates([]Spec{*spec})...)
	if len(p.Errs) > 0 {
		// A field a Kubernetes API server would prune is only a note in
		// a valid spec; in a refused one it is a likely cause (a typo of
		// the field found missing), so it is a problem too.
		return nil, dedupe(append(p.Errs, p.pruned...))
	}
	spec.Notes = p.notes
	return spec, nil
}

// detectFormat reads the key that names a document's format.
func detectFormat(doc *yaml.Node) (Format, *yaml.Node) {
	if doc.Kind != yaml.MappingNode {
		return "", doc
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i].Value, doc.Content[i+1]
		if _, ok := formatKeys[k]; ok {
			return Format(v.Value), v
		}
	}
	return "", doc
}

// checkSlices refuses time slices longer than the shortest burn-rate
// window: that window would hold no whole slice, and its burn rate would
// be the last slice's, or nothing.
func checkSlices(p *problems, s *SLO) {
	if !s.Budgeting.Sliced() || s.Window.Period() == 0 {
		return
	}
	if shortest := s.BurnRateWindows()[0]; s.Budgeting.TimeSlice > shortest {
		p.AddAt(s.Pos, "SLO %s: time slice %s is longer than its shortest burn-rate window, %s: use a slice of at most %s",
			s.ID(), FormatDuration(s.Budgeting.TimeSlice), FormatDuration(shortest), FormatDuration(shortest))
	}
}
