package sloconnector

import (
	"errors"
	"fmt"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/examples"
)

// specFileExtensions are those of the files slo.LoadFiles reads in a
// folder.
var specFileExtensions = []string{".yaml", ".yml"}

// loadSpecs loads the spec files and folders of Config.Specs (the
// compiled-in examples for "embedded" or an empty list). Validation
// problems of every file come back together, file:line:col.
func loadSpecs(paths []string) ([]slo.Spec, error) {
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
		return nil, err
	}
	return specs, nil
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
