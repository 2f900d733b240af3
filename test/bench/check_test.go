package bench

// BenchmarkCheckScale is `make bench-check`: `webhook check` on a
// monorepo's worth of manifests, against the least any tool that reads
// them must do. For each size it writes the objects of test/gen
// (Manifests: as a repository holds them, after the Namespaces and
// IngressClasses they name) into a temp folder as multi-document YAML
// files of checkFileObjects objects, then times, each as a child process
// (so that its max RSS is its own):
//
//   - the floor: a bare loop that reads every file and decodes each
//     document YAML→JSON with apimachinery's YAML reader and
//     sigs.k8s.io/yaml (the decoder class check uses), and does nothing
//     with it;
//   - the built `webhook check -f DIR -o FORMAT` (json by default).
//
// It prints wall time and CPU time (user and system: on a shared machine
// wall time also counts waiting for a core), each with its ratio to the
// floor's, and max RSS. check judges on GOMAXPROCS goroutines; the floor
// is one loop.
//
//	make bench-check                              # 10,000 and 200,000 objects
//	CHECK_BENCH_OBJECTS=10000,50000 make bench-check
//	CHECK_BENCH_FORMATS=json,jsonl,table          # the -o values to time
//	CHECK_BENCH_PPROF=dir                         # also check in process at the largest size:
//	                                              # cpu.pprof, heap-peak.pb.gz (live heap at its peak), allocs.pb.gz

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

const (
	// checkFloorEnv makes the test binary run the floor over a folder and
	// print a floorResult; checkProfileEnv run check in process with
	// profiles into a folder ("DIR:PPROFDIR").
	checkFloorEnv   = "WSD_CHECK_BENCH_FLOOR"
	checkProfileEnv = "WSD_CHECK_BENCH_PROFILE"
	// checkFileObjects is how many objects each generated file holds.
	checkFileObjects = 1000
)

// checkChild runs the child modes of the check benchmark; ok is false when
// the environment asks for none.
func checkChild() (code int, ok bool) {
	if dir := os.Getenv(checkFloorEnv); dir != "" {
		return floorChild(dir), true
	}
	if v := os.Getenv(checkProfileEnv); v != "" {
		dir, pprofDir, _ := strings.Cut(v, ":")
		return profileChild(dir, pprofDir), true
	}
	return 0, false
}

type floorResult struct {
	Documents int
	Err       string
}

// manifestFiles are the files of dir, in the order check reads them.
func manifestFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	slices.Sort(files)
	return files, nil
}

// floorChild reads every file of dir document by document and converts
// each to JSON.
func floorChild(dir string) int {
	res := floorResult{}
	err := func() error {
		files, err := manifestFiles(dir)
		if err != nil {
			return err
		}
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			r := utilyaml.NewYAMLReader(bufio.NewReader(f))
			for {
				doc, err := r.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					f.Close()
					return err
				}
				js, err := yaml.YAMLToJSON(doc)
				if err != nil {
					f.Close()
					return err
				}
				if len(js) > 0 && string(js) != "null" {
					res.Documents++
				}
			}
			f.Close()
		}
		return nil
	}()
	if err != nil {
		res.Err = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// profileChild runs check as `webhook check -o json` does, in process,
// writing a CPU profile, the heap at its live peak and the allocations.
func profileChild(dir, pprofDir string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	engine, err := validate.NewEngine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cpu, err := os.Create(filepath.Join(pprofDir, "cpu.pprof"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h := &heapWatch{dir: pprofDir}
	go h.run(ctx)
	start := time.Now()
	_, err = check.Run(ctx, check.Options{Files: []string{dir}, Output: "json", Validator: check.Rules{Engine: engine}, Stdout: io.Discard, Stderr: io.Discard})
	took := time.Since(start)
	pprof.StopCPUProfile()
	if f, ferr := os.Create(filepath.Join(pprofDir, "allocs.pb.gz")); ferr == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("in process: %.2fs, live heap peak %d MiB\n", took.Seconds(), h.reset()>>20)
	return 0
}

// writeManifests writes n generated objects (after the cluster objects)
// into dir and returns the bytes written and how many objects.
func writeManifests(dir string, n int) (size int64, objects int, err error) {
	cluster := gen.ClusterObjects()
	for file := 0; objects < n+len(cluster); file++ {
		var objs []map[string]any
		if file == 0 {
			objs = cluster
		}
		count := min(checkFileObjects, n+len(cluster)-objects) - len(objs)
		objs = append(objs, gen.Manifests(7, objects, count, false)...)
		var b strings.Builder
		for i, o := range objs {
			y, err := yaml.Marshal(o)
			if err != nil {
				return 0, 0, err
			}
			if i > 0 {
				b.WriteString("---\n")
			}
			b.Write(y)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("manifests-%04d.yaml", file)), []byte(b.String()), 0o600); err != nil {
			return 0, 0, err
		}
		size += int64(b.Len())
		objects += len(objs)
	}
	return size, objects, nil
}

// childRun is one timed child process.
type childRun struct {
	Seconds float64
	// CPU is user and system time: on a busy machine, wall time also
	// counts waiting for a core.
	CPU    float64
	MaxRSS int64 // bytes
}

func runChild(cmd *exec.Cmd, okCodes ...int) (childRun, []byte, error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && slices.Contains(okCodes, exit.ExitCode())) {
		return childRun{}, nil, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // bytes (Linux reports KiB)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return childRun{Seconds: took.Seconds(), CPU: cpu.Seconds(), MaxRSS: rss}, out, nil
}

func BenchmarkCheckScale(b *testing.B) {
	sizes := []int{10_000, 200_000}
	if v := os.Getenv("CHECK_BENCH_OBJECTS"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				b.Fatalf("CHECK_BENCH_OBJECTS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	formats := []string{"json"}
	if v := os.Getenv("CHECK_BENCH_FORMATS"); v != "" {
		formats = strings.Split(v, ",")
	}
	pprofDir := os.Getenv("CHECK_BENCH_PPROF")
	root, err := framework.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := framework.BuildWebhook(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	type row struct {
		what    string
		objects int
		size    int64
		run     childRun
		floor   childRun
	}
	var rows []row
	for range b.N {
		for i, n := range sizes {
			dir := filepath.Join(b.TempDir(), strconv.Itoa(n))
			if err := os.Mkdir(dir, 0o700); err != nil {
				b.Fatal(err)
			}
			size, objects, err := writeManifests(dir, n)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%d objects in %d files, %.1f MB of YAML", objects, (objects+checkFileObjects-1)/checkFileObjects, float64(size)/1e6)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), checkFloorEnv+"="+dir)
			floor, out, err := runChild(cmd)
			if err != nil {
				b.Fatal(err)
			}
			var fr floorResult
			if err := json.Unmarshal(out, &fr); err != nil || fr.Err != "" || fr.Documents != objects {
				b.Fatalf("floor printed %q (%v), want %d documents", out, err, objects)
			}
			rows = append(rows, row{what: "floor (YAML→JSON)", objects: objects, size: size, run: floor, floor: floor})
			for _, format := range formats {
				// 1: some objects carry planted violations.
				run, _, err := runChild(exec.Command(bin, "check", "-f", dir, "-o", format), 0, 1)
				if err != nil {
					b.Fatal(err)
				}
				rows = append(rows, row{what: "webhook check -o " + format, objects: objects, size: size, run: run, floor: floor})
				b.Logf("%d objects: floor %.2fs wall, %.2fs CPU, %d MiB; check -o %s %.2fs wall (%.2f×), %.2fs CPU (%.2f×), %d MiB", objects,
					floor.Seconds, floor.CPU, floor.MaxRSS>>20, format, run.Seconds, run.Seconds/floor.Seconds, run.CPU, run.CPU/floor.CPU, run.MaxRSS>>20)
				b.ReportMetric(run.Seconds/floor.Seconds, fmt.Sprintf("ratio-%s-%d", format, n))
				b.ReportMetric(float64(run.MaxRSS>>20), fmt.Sprintf("maxrss-MiB-%s-%d", format, n))
			}
			if pprofDir != "" && i == len(sizes)-1 {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), checkProfileEnv+"="+dir+":"+pprofDir)
				_, out, err := runChild(cmd)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%sprofiles in %s", out, pprofDir)
			}
			_ = os.RemoveAll(dir)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "objects\tMB\twhat\t\twall s\t× floor\tCPU s\t× floor\tmax RSS MiB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.1f\t%s\t\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n", r.objects, float64(r.size)/1e6, r.what,
			r.run.Seconds, r.run.Seconds/r.floor.Seconds, r.run.CPU, r.run.CPU/r.floor.CPU, r.run.MaxRSS>>20)
	}
	_ = tw.Flush()
}
