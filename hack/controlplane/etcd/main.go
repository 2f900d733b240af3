// Command etcd is upstream etcd's server, built from the Go module so
// hack/controlplane.sh needs no release tarball (only the Go proxy is reachable).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
