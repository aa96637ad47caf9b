//go:build tools

// Package tools keeps the helm command in go.mod: build-tool.sh builds it for the chart tests.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
