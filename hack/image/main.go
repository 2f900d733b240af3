// Command image builds the ws-defaults container image without a container
// runtime: `make image` runs it. For each platform it compiles a static
// webhook binary (CGO_ENABLED=0, -trimpath) and puts it, as /webhook, on an
// empty base that holds only the nonroot user (UID and GID 65532, with
// /etc/passwd and /etc/group entries, home /home/nonroot), a world-writable
// /tmp and a CA bundle (/etc/ssl/certs/ca-certificates.crt, the Mozilla
// NSS roots as golang.org/x/crypto/x509roots/fallback/bundle ships them).
// The platforms' images go into one OCI image index, written as
//
//	OUT/oci/                                  an OCI image layout (crane push, skopeo, oras)
//	OUT/ws-defaults-TAG-linux-ARCH.tar        one docker-load tarball per platform
//
// The build is reproducible: every timestamp (file times, the config's
// created, history) is SOURCE_DATE_EPOCH when set, else the commit time
// the go command stamped into the binary (vcs.time), else the Unix epoch;
// files are written in a fixed order with fixed owners. Two builds of the
// same tree with the same Go toolchain give the same index digest.
//
// The tag is the chart's appVersion (charts/ws-defaults/Chart.yaml), which
// the chart uses as its image tag, and the binary is stamped with it
// (`webhook version` prints it). Flags: -out, -platforms, -root.
//
// Its own module, so go-containerregistry never constrains the product's
// go.mod (as hack/tools).
package main

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
	"sigs.k8s.io/yaml"
)

const (
	module = "github.com/ws-defaults/ws-defaults"
	source = "https://" + module
	// nonroot is the UID and GID the image runs as (distroless's nonroot).
	nonroot = 65532
)

func main() {
	root := flag.String("root", ".", "the repository checkout to build")
	out := flag.String("out", "bin/image", "where to write the OCI layout and the docker-load tarballs")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH list")
	flag.Parse()
	if err := run(*root, *out, strings.Split(*platforms, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// chart is what the image takes from the chart: its repository and tag.
type chart struct {
	Repository string
	Tag        string
}

func readChart(root string) (chart, error) {
	var meta struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
		} `json:"image"`
	}
	for file, into := range map[string]any{"Chart.yaml": &meta, "values.yaml": &values} {
		b, err := os.ReadFile(filepath.Join(root, "charts", "ws-defaults", file))
		if err != nil {
			return chart{}, err
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			return chart{}, fmt.Errorf("charts/ws-defaults/%s: %w", file, err)
		}
	}
	if meta.AppVersion == "" || values.Image.Repository == "" {
		return chart{}, errors.New("charts/ws-defaults: appVersion or image.repository is empty")
	}
	return chart{Repository: values.Image.Repository, Tag: meta.AppVersion}, nil
}

func run(root, out string, platforms []string) error {
	c, err := readChart(root)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(c.Repository + ":" + c.Tag)
	if err != nil {
		return err
	}
	bins, err := os.MkdirTemp("", "ws-defaults-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bins)

	// Compile first: the commit time in the binaries dates everything else.
	type built struct {
		platform v1.Platform
		binary   string
	}
	var all []built
	for _, p := range platforms {
		pl, err := v1.ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			return err
		}
		if pl.OS != "linux" {
			return fmt.Errorf("platform %s: the image is linux only", p)
		}
		bin := filepath.Join(bins, "webhook-"+pl.Architecture+pl.Variant)
		if err := compile(root, bin, *pl, c.Tag); err != nil {
			return err
		}
		all = append(all, built{*pl, bin})
	}
	created, revision, err := buildTime(root, all[0].binary)
	if err != nil {
		return err
	}

	base, err := baseLayer(created)
	if err != nil {
		return err
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "ws-defaults",
		"org.opencontainers.image.source":  source,
		"org.opencontainers.image.version": c.Tag,
		"org.opencontainers.image.created": created.UTC().Format(time.RFC3339),
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	images := map[string]v1.Image{}
	for _, b := range all {
		img, err := image(b.platform, base, b.binary, created, labels)
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", b.platform, d)
		images[b.platform.Architecture+b.platform.Variant] = img
		p := b.platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx = mutate.Annotations(idx, map[string]string{
		"org.opencontainers.image.source":  source,
		"org.opencontainers.image.version": c.Tag,
		"org.opencontainers.image.created": labels["org.opencontainers.image.created"],
	}).(v1.ImageIndex)
	digest, err := idx.Digest()
	if err != nil {
		return err
	}

	// The OCI layout holds the index alone, named by its tag, so that
	// `crane push OUT/oci REF` pushes the multi-platform index.
	layoutDir := filepath.Join(out, "oci")
	if err := os.RemoveAll(layoutDir); err != nil {
		return err
	}
	lp, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": c.Tag,
		"io.containerd.image.name":          ref.String(),
	})); err != nil {
		return err
	}
	for arch, img := range images {
		file := filepath.Join(out, fmt.Sprintf("ws-defaults-%s-linux-%s.tar", c.Tag, arch))
		if err := tarball.WriteToFile(file, ref, img); err != nil {
			return err
		}
	}
	fmt.Printf("%s %s (index)\nwrote %s and the docker-load tarballs beside it\n", ref, digest, layoutDir)
	return nil
}

// compile builds the webhook for one platform: static, without local paths,
// stamped with the release version.
func compile(root, out string, p v1.Platform, release string) error {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build",
		"-trimpath",
		// VCS stamping (vcs.revision, vcs.time) where the tree is a git
		// checkout; GOFLAGS=-buildvcs=false in the environment would drop it.
		"-buildvcs=auto",
		"-ldflags=-s -w -X "+module+"/webhook/version.release="+release,
		"-o", out, "./cmd/webhook")
	cmd.Dir = root
	env := os.Environ()
	env = append(env, "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if p.Variant != "" && p.Architecture == "arm" {
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", p, err)
	}
	return nil
}

// buildTime is the image's timestamp: SOURCE_DATE_EPOCH, else the commit
// time stamped into binary, else the Unix epoch; and the commit, if any.
// The go command does not stamp a git worktree (its .git is a file), so
// there git itself is asked.
func buildTime(root, binary string) (time.Time, string, error) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return time.Time{}, "", err
	}
	var vcsTime, revision string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.revision":
			revision = s.Value
		}
	}
	if revision == "" {
		if out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%H %cI").Output(); err == nil {
			if f := strings.Fields(string(out)); len(f) == 2 {
				revision, vcsTime = f[0], f[1]
			}
		}
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		sec, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", e, err)
		}
		return time.Unix(sec, 0).UTC(), revision, nil
	}
	if vcsTime != "" {
		t, err := time.Parse(time.RFC3339, vcsTime)
		return t.UTC(), revision, err
	}
	return time.Unix(0, 0).UTC(), revision, nil
}

// file is one entry of a layer.
type file struct {
	name string
	mode int64 // permission bits; a directory when body is nil
	uid  int
	body []byte
}

// baseFiles are the base layer's entries: what distroless/static:nonroot
// offers a static Go binary, and nothing else.
func baseFiles() ([]file, error) {
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	return []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, body: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: certs},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonroot},
		{name: "root/", mode: 0o700},
		{name: "tmp/", mode: 0o1777},
	}, nil
}

// caBundle is the Mozilla NSS root store as PEM, from the pinned
// golang.org/x/crypto/x509roots/fallback module (generated from NSS's
// certdata by the Go team). Roots that NSS trusts only for certificates
// issued before a date (a constraint PEM cannot carry) are left out, as
// Go's own verifier would need that constraint to trust them safely.
func caBundle() ([]byte, error) {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	if b.Len() == 0 {
		return nil, errors.New("the CA bundle is empty")
	}
	return b.Bytes(), nil
}

// layer writes files, in order, as a gzipped tar layer with every time set
// to mtime and every owner root unless the entry says otherwise.
func layer(files []file, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid,
			ModTime: mtime, Format: tar.FormatPAX,
			Typeflag: tar.TypeReg, Size: int64(len(f.body)),
		}
		if f.body == nil {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if f.uid != 0 {
			h.Uname, h.Gname = "nonroot", "nonroot"
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

func baseLayer(mtime time.Time) (v1.Layer, error) {
	files, err := baseFiles()
	if err != nil {
		return nil, err
	}
	return layer(files, mtime)
}

// image is one platform's image: the base layer, the binary's layer, and
// a config that runs `/webhook serve` as nonroot.
func image(p v1.Platform, base v1.Layer, binary string, created time.Time, labels map[string]string) (v1.Image, error) {
	body, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	bin, err := layer([]file{{name: "webhook", mode: 0o755, body: body}}, created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.Architecture,
		Variant:      p.Variant,
		OS:           p.OS,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint: []string{"/webhook"},
			Cmd:        []string{"serve"},
			User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
			WorkingDir: "/",
			Env: []string{
				"PATH=/usr/local/bin:/usr/bin:/bin",
				"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
			},
			ExposedPorts: map[string]struct{}{"9443/tcp": {}, "8080/tcp": {}, "8081/tcp": {}},
			Labels:       labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	at := v1.Time{Time: created}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: at, CreatedBy: "hack/image: nonroot user (65532), /tmp, CA certificates"}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: at, CreatedBy: "hack/image: /webhook (CGO_ENABLED=0 go build -trimpath)"}},
	)
}
