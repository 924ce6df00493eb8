package slo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
func dedupe(errs ValidationErrors) ValidationErrors {
	sortProblems(errs)
	return slices.Compact(errs)
}

// Parse parses and validates one spec file, whatever its format: the
// native vigil/v1 (see VersionVigil), OpenSLO v1 (see APIVersionOpenSLO) or
// Sloth's prometheus/v1 (see VersionSloth). file names the spec in
// positions. On problems it returns ValidationErrors listing all of them.
func Parse(file string, data []byte) (*Spec, error) {
	p := &problems{file: file}
	docs := p.documents(data)
	var spec *Spec
	if len(docs) > 0 {
		switch format, node := detectFormat(docs[0]); format {
		case VersionVigil:
			spec = parseVigil(p, p.single(docs))
		case VersionSloth:
			spec = parseSloth(p, p.single(docs))
		case APIVersionOpenSLO:
			spec = parseOpenSLO(p, docs)
		default:
			p.add(node, "unknown spec format %q: want version %s, version %s (Sloth) or apiVersion %s", format, VersionVigil, VersionSloth, APIVersionOpenSLO)
		}
	}
	if len(p.errs) > 0 {
		return nil, dedupe(p.errs)
	}
	return spec, nil
}

// documents decodes every YAML document of data, keeping nodes so that
// every value carries its line and column.
func (p *problems) documents(data []byte) []*yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.errs = append(p.errs, ValidationError{Pos: p.syntaxPos(err), Msg: syntaxMsg(err)})
			return nil
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		docs = append(docs, doc.Content[0])
	}
	if len(docs) == 0 {
		p.errs = append(p.errs, ValidationError{Pos: Position{File: p.file, Line: 1, Column: 1}, Msg: "empty spec"})
	}
	return docs
}

// single returns the one document of a format that has one per file.
func (p *problems) single(docs []*yaml.Node) *yaml.Node {
	for _, extra := range docs[1:] {
		p.add(extra, "this spec format has one YAML document per file")
	}
	return docs[0]
}

// yamlLineRE finds the line in yaml.v3's syntax errors, which carry no
// column.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *problems) syntaxPos(err error) Position {
	pos := Position{File: p.file, Line: 1, Column: 1}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
	}
	return pos
}

func syntaxMsg(err error) string {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return "YAML syntax: " + m[2]
	}
	return fmt.Sprintf("YAML syntax: %v", strings.TrimPrefix(err.Error(), "yaml: "))
}

// detectFormat reads the version key that names a document's format.
func detectFormat(doc *yaml.Node) (string, *yaml.Node) {
	if doc.Kind != yaml.MappingNode {
		return "", doc
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if k := doc.Content[i].Value; k == "version" || k == "apiVersion" {
			return doc.Content[i+1].Value, doc.Content[i+1]
		}
	}
	return "", doc
}
