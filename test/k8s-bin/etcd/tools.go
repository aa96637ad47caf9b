//go:build tools

// Package tools keeps etcd's server module (its root package is the etcd program) in go.mod.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
