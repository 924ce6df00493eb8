package sloconnector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/examples"
)

// loadSpecs loads the spec files and folders of Config.Specs (the
// compiled-in examples for "embedded" or an empty list) and returns them
// with the modification signature of the files, to notice changes.
// Validation problems of every file come back together, file:line:col.
func loadSpecs(paths []string) ([]slo.Spec, string, error) {
	embedded, files := splitSpecPaths(paths)
	var specs []slo.Spec
	var errs []error
	if embedded {
		s, err := slo.LoadFS(examples.FS, ".")
		if err != nil {
			errs = append(errs, fmt.Errorf("embedded specs: %w", err))
		}
		specs = append(specs, s...)
	}
	if len(files) > 0 {
		s, err := slo.LoadFiles(files...)
		if err != nil {
			errs = append(errs, err)
		}
		specs = append(specs, s...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	sig, err := specsSignature(paths)
	if err != nil {
		return nil, "", err
	}
	return specs, sig, nil
}

func splitSpecPaths(paths []string) (embedded bool, files []string) {
	if len(paths) == 0 {
		return true, nil
	}
	for _, p := range paths {
		if p == EmbeddedSpecs {
			embedded = true
			continue
		}
		files = append(files, p)
	}
	return embedded, files
}

// specsSignature describes the spec files by name, size and modification
// time; a change in any means a reload. A folder's *.yaml and *.yml files
// count, as slo.LoadFiles reads them.
func specsSignature(paths []string) (string, error) {
	_, files := splitSpecPaths(paths)
	var parts []string
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if !st.IsDir() {
			parts = append(parts, fmt.Sprintf("%s|%d|%d", p, st.Size(), st.ModTime().UnixNano()))
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return "", err
			}
			parts = append(parts, fmt.Sprintf("%s|%d|%d", filepath.Join(p, e.Name()), info.Size(), info.ModTime().UnixNano()))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n"), nil
}
