package framework

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ModuleCRD is a CustomResourceDefinition as a controller's own Go module
// ships it: the real schema, not a stub.
type ModuleCRD struct {
	Module, Version string
	// File is the YAML file in the module holding it (maybe among others).
	File string
	// Name is the CRD's metadata.name.
	Name string
}

// ModuleCRDs are the real CRDs of the kinds ws-defaults mutates or judges
// whose modules the Go module proxy serves. Kinds not listed here (Linkerd,
// GKE BackendConfig, the removed traefik.containo.us group) keep the stubs
// in test/e2e/testdata/crds.
var ModuleCRDs = []ModuleCRD{
	{"istio.io/api", "v1.32.0", "kubernetes/customresourcedefinitions.gen.yaml", "destinationrules.networking.istio.io"},
	{"istio.io/api", "v1.32.0", "kubernetes/customresourcedefinitions.gen.yaml", "virtualservices.networking.istio.io"},
	{"github.com/projectcontour/contour", "v1.33.8", "examples/contour/01-crds.yaml", "httpproxies.projectcontour.io"},
	{"github.com/traefik/traefik/v3", "v3.6.12", traefikCRDs, "serverstransports.traefik.io"},
	{"github.com/traefik/traefik/v3", "v3.6.12", traefikCRDs, "serverstransporttcps.traefik.io"},
	{"github.com/traefik/traefik/v3", "v3.6.12", traefikCRDs, "middlewares.traefik.io"},
	// Gateway API's experimental channel: a superset of the standard one
	// (sessionPersistence lives only there).
	{"sigs.k8s.io/gateway-api", gatewayAPIVersion, gatewayAPICRDs + "gateway.networking.k8s.io_gatewayclasses.yaml", "gatewayclasses.gateway.networking.k8s.io"},
	{"sigs.k8s.io/gateway-api", gatewayAPIVersion, gatewayAPICRDs + "gateway.networking.k8s.io_gateways.yaml", "gateways.gateway.networking.k8s.io"},
	{"sigs.k8s.io/gateway-api", gatewayAPIVersion, gatewayAPICRDs + "gateway.networking.k8s.io_httproutes.yaml", "httproutes.gateway.networking.k8s.io"},
	{"sigs.k8s.io/gateway-api", gatewayAPIVersion, gatewayAPICRDs + "gateway.networking.k8s.io_grpcroutes.yaml", "grpcroutes.gateway.networking.k8s.io"},
	{"github.com/envoyproxy/gateway", envoyGatewayVersion, envoyGatewayCRDs + "gateway.envoyproxy.io_backendtrafficpolicies.yaml", "backendtrafficpolicies.gateway.envoyproxy.io"},
	{"github.com/envoyproxy/gateway", envoyGatewayVersion, envoyGatewayCRDs + "gateway.envoyproxy.io_clienttrafficpolicies.yaml", "clienttrafficpolicies.gateway.envoyproxy.io"},
}

const (
	gatewayAPIVersion   = "v1.6.3"
	gatewayAPICRDs      = "config/crd/experimental/"
	envoyGatewayVersion = "v1.9.1"
	envoyGatewayCRDs    = "charts/gateway-helm/charts/crds/crds/generated/"
)

const traefikCRDs = "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"

// FetchModuleCRDs writes each of ModuleCRDs into dir as
// <name>_<version>.yaml, downloading the modules through the Go module proxy
// when they are not in the module cache yet. Files already there are kept;
// any other YAML file in dir (an older pin) is removed.
func FetchModuleCRDs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, c := range ModuleCRDs {
		want[c.Name+"_"+c.Version+".yaml"] = true
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range old {
		if !want[filepath.Base(f)] {
			_ = os.Remove(f)
		}
	}
	moduleDirs := map[string]string{}
	for _, c := range ModuleCRDs {
		out := filepath.Join(dir, c.Name+"_"+c.Version+".yaml")
		if _, err := os.Stat(out); err == nil {
			continue
		}
		key := c.Module + "@" + c.Version
		mdir, ok := moduleDirs[key]
		if !ok {
			var err error
			if mdir, err = downloadModule(key); err != nil {
				return err
			}
			moduleDirs[key] = mdir
		}
		doc, err := crdFromFile(filepath.Join(mdir, c.File), c.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if err := os.WriteFile(out+".tmp", doc, 0o644); err != nil {
			return err
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			return err
		}
	}
	return nil
}

func downloadModule(key string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", key)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w\n%s%s", key, err, b, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(b, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", key, info.Error, err)
	}
	return info.Dir, nil
}

// crdFromFile returns the document of a multi-document YAML file whose
// metadata.name is name.
func crdFromFile(path, name string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal([]byte(doc), &meta) != nil {
			continue
		}
		if meta.Kind == "CustomResourceDefinition" && meta.Metadata.Name == name {
			return []byte(strings.TrimPrefix(doc, "\n")), nil
		}
	}
	return nil, fmt.Errorf("%s holds no CRD %s", path, name)
}
