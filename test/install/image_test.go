package install

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/webhook/version"
)

// ociDescriptor, ociIndex, ociManifest and ociConfig are the parts of the
// OCI image spec the test reads.
type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

type ociConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Created      string `json:"created"`
	Config       struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Env        []string          `json:"Env"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

// layoutDir is an OCI image layout written by `make image`.
type layoutDir string

// blob reads a blob and checks it against its digest.
func (l layoutDir) blob(t *testing.T, d ociDescriptor, into any) []byte {
	t.Helper()
	hexDigest, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(string(l), "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexDigest || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: content does not match its descriptor", d.Digest)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("blob %s: %v", d.Digest, err)
		}
	}
	return b
}

// top is the layout's one entry: the image index.
func (l layoutDir) top(t *testing.T) ociDescriptor {
	t.Helper()
	var idx ociIndex
	b, err := os.ReadFile(filepath.Join(string(l), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("index.json: want one image index (what `crane push` pushes), got %+v", idx.Manifests)
	}
	return idx.Manifests[0]
}

// imagePlatforms are the platforms TestImage builds: amd64 alone in `make
// test` (the arm64 cross-compile is a second full compile of the webhook,
// tens of minutes on a cold 2-core machine), both with WS_CONFORMANCE_FULL=1
// (`make conformance`), as `make image` builds them.
func imagePlatforms() []string {
	if os.Getenv("WS_CONFORMANCE_FULL") == "1" {
		return []string{"linux/amd64", "linux/arm64"}
	}
	return []string{"linux/amd64"}
}

// makeImage runs `make image` into out and returns the OCI layout.
func makeImage(t *testing.T, out string) layoutDir {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("make", "--no-print-directory", "image", "IMAGE_OUT="+out, "IMAGE_PLATFORMS="+strings.Join(imagePlatforms(), ","))
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, b)
	}
	t.Logf("make image: %s\n%s", time.Since(start).Round(time.Second), b)
	return layoutDir(filepath.Join(out, "oci"))
}

// chartImage is what the chart says about the image: the repository, its
// appVersion (the default tag), and the pod's user and group.
func chartImage(t *testing.T) (repository, appVersion string, user string) {
	t.Helper()
	var meta struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Digest     string `json:"digest"`
		} `json:"image"`
	}
	for file, into := range map[string]any{"Chart.yaml": &meta, "values.yaml": &values} {
		b, err := os.ReadFile(filepath.Join(root, "charts", "ws-defaults", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	if values.Image.Tag != "" || values.Image.Digest != "" {
		t.Errorf("values.yaml sets image.tag %q / image.digest %q: the default image must be the chart's appVersion", values.Image.Tag, values.Image.Digest)
	}
	dep := typed[appsv1.Deployment](t, helmTemplate(t, defaultRelease).one(t, "Deployment"))
	pod := dep.Spec.Template.Spec
	if want := values.Image.Repository + ":" + meta.AppVersion; pod.Containers[0].Image != want {
		t.Errorf("the chart deploys image %q, want its appVersion %q", pod.Containers[0].Image, want)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsUser == nil || psc.RunAsGroup == nil {
		t.Fatalf("pod securityContext names no user and group: %+v", psc)
	}
	return values.Image.Repository, meta.AppVersion, fmt.Sprintf("%d:%d", *pod.SecurityContext.RunAsUser, *pod.SecurityContext.RunAsGroup)
}

// TestImageTagIsAppVersion: the chart's default image is
// repository:appVersion, the tag `make image` gives.
func TestImageTagIsAppVersion(t *testing.T) {
	chartImage(t)
}

// TestImage builds the image twice with `make image` (as a user without
// Docker would), wants the same index digest both times, and runs
// `/webhook version` from the amd64 image's unpacked root filesystem,
// chrooted into it as the image's user (65532).
func TestImage(t *testing.T) {
	repository, appVersion, chartUser := chartImage(t)
	first := makeImage(t, t.TempDir())
	second := makeImage(t, t.TempDir())
	idx1, idx2 := first.top(t), second.top(t)
	if idx1.Digest != idx2.Digest {
		t.Errorf("two builds of the same tree gave %s and %s: not reproducible", idx1.Digest, idx2.Digest)
	}
	if got := idx1.Annotations["org.opencontainers.image.ref.name"]; got != appVersion {
		t.Errorf("layout ref.name %q, want the chart's appVersion %q", got, appVersion)
	}

	var idx ociIndex
	first.blob(t, idx1, &idx)
	var platforms []string
	var amd64 ociDescriptor
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.Architecture == "amd64" {
			amd64 = m
		}
	}
	if want := imagePlatforms(); !slices.Equal(platforms, want) {
		t.Fatalf("platforms %v, want %v", platforms, want)
	}

	var man ociManifest
	first.blob(t, amd64, &man)
	var cfg ociConfig
	first.blob(t, man.Config, &cfg)
	c := cfg.Config
	if c.User != chartUser || !slices.Equal(c.Entrypoint, []string{"/webhook"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("config: user %q (the chart runs as %q), entrypoint %q, cmd %q", c.User, chartUser, c.Entrypoint, c.Cmd)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || c.Labels["org.opencontainers.image.version"] != appVersion {
		t.Errorf("config: %s/%s, labels %v", cfg.OS, cfg.Architecture, c.Labels)
	}

	// The image's / is 0755 like any root directory; TempDir's is 0700.
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range man.Layers {
		unpack(t, first.blob(t, l, nil), rootfs)
	}
	checkRootFS(t, rootfs)

	// docker load reads the per-platform tarball's manifest.json.
	checkDockerTarball(t, filepath.Join(filepath.Dir(string(first)), "ws-defaults-"+appVersion+"-linux-amd64.tar"), repository+":"+appVersion)

	if os.Geteuid() != 0 {
		t.Skip("running /webhook chrooted as 65532 needs root")
	}
	cmd := exec.Command("/webhook", "version", "-o", "json")
	cmd.Dir = "/"
	cmd.Env = c.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     rootfs,
		Credential: &syscall.Credential{Uid: 65532, Gid: 65532},
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("/webhook version in the image: %v\n%s", err, stderr.String())
	}
	var info version.Info
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("/webhook version -o json: %v\n%s", err, out)
	}
	if info.Version != appVersion || info.Platform != "linux/amd64" || info.Module != "github.com/ws-defaults/ws-defaults" || !strings.HasPrefix(info.GoVersion, "go") {
		t.Errorf("/webhook version in the image: %+v, want version %s on linux/amd64", info, appVersion)
	}
	t.Logf("/webhook version: %s", out)
}

// unpack extracts a gzipped layer into dir with its modes and owners. The
// layers come from our own build; names leaving dir fail the test.
func unpack(t *testing.T, layer []byte, dir string) {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(layer)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsLocal(h.Name) {
			t.Fatalf("layer entry %q leaves the root filesystem", h.Name)
		}
		p := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		default:
			t.Fatalf("layer entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
		if err == nil {
			err = os.Chmod(p, os.FileMode(h.Mode).Perm()|modeBits(h.Mode))
		}
		if err == nil && os.Geteuid() == 0 {
			err = os.Lchown(p, h.Uid, h.Gid)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func modeBits(m int64) os.FileMode {
	var out os.FileMode
	if m&0o1000 != 0 {
		out |= os.ModeSticky
	}
	return out
}

// checkRootFS: the nonroot user and group, its home, /tmp, and a CA bundle
// Go can use; nothing else but /webhook.
func checkRootFS(t *testing.T, rootfs string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, name))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	if !strings.Contains(read("etc/passwd"), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("/etc/passwd has no nonroot entry:\n%s", read("etc/passwd"))
	}
	if !strings.Contains(read("etc/group"), "\nnonroot:x:65532:\n") {
		t.Errorf("/etc/group has no nonroot entry:\n%s", read("etc/group"))
	}
	pool, n := x509.NewCertPool(), 0
	rest := []byte(read("etc/ssl/certs/ca-certificates.crt"))
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("CA bundle: %v", err)
		}
		pool.AddCert(cert)
		n++
	}
	if n < 100 {
		t.Errorf("CA bundle holds %d certificates", n)
	}
	for name, want := range map[string]string{"home/nonroot": "drwx------ 65532", "tmp": "dtrwxrwxrwx 0", "webhook": "-rwxr-xr-x 0"} {
		fi, err := os.Stat(filepath.Join(rootfs, name))
		if err != nil {
			t.Error(err)
			continue
		}
		got := fmt.Sprintf("%s %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
		if os.Geteuid() != 0 {
			got, want = strings.Fields(got)[0], strings.Fields(want)[0]
		}
		if got != want {
			t.Errorf("/%s: %s, want %s", name, got, want)
		}
	}
	var all []string
	if err := filepath.WalkDir(rootfs, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(rootfs, p)
			all = append(all, rel)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "webhook"}; !slices.Equal(all, want) {
		t.Errorf("files in the image %v, want %v", all, want)
	}
}

// checkDockerTarball reads the manifest.json `docker load` uses.
func checkDockerTarball(t *testing.T, file, tag string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no manifest.json: %v", file, err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{tag}) || len(m[0].Layers) != 2 {
			t.Errorf("%s manifest.json: %+v, want one image tagged %s with two layers", file, m, tag)
		}
		return
	}
}
