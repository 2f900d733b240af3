// Package version says what the running webhook binary was built from: the
// module version, the VCS revision and commit time that the go command
// stamps into a binary built from a git checkout (runtime/debug.ReadBuildInfo),
// and the Go toolchain. `webhook version` prints it; SARIF names it as the
// tool's version.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// release is the version an image build stamps in with
// -ldflags "-X github.com/ws-defaults/ws-defaults/webhook/version.release=…"
// (hack/image sets the chart's appVersion, which is also the image tag).
// Empty in every other build.
var release string

// Info describes one build.
type Info struct {
	// Version is the release stamped by the image build, else the module
	// version the go command derived (a tag such as v0.1.0, a pseudo-version
	// v0.0.0-<time>-<revision> with "+dirty" for a modified tree, or
	// "(devel)" when it knew none).
	Version string `json:"version"`
	// Module is the main module's path and ModuleVersion its version as the
	// go command stamped it, whatever Version says.
	Module        string `json:"module"`
	ModuleVersion string `json:"moduleVersion"`
	// Revision and Time are the commit the binary was built from and its
	// commit time (RFC 3339); empty when built without VCS stamping
	// (-buildvcs=false, or not from a checkout). Modified says the
	// working tree differed from that commit.
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary; Platform is
	// GOOS/GOARCH.
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Devel is the version of a build nothing identifies.
const Devel = "(devel)"

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi, release)
}

// FromBuildInfo reads bi (nil when the binary carries none) and the
// stamped release.
func FromBuildInfo(bi *debug.BuildInfo, release string) Info {
	info := Info{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		info.Module, info.ModuleVersion = bi.Main.Path, bi.Main.Version
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		var goos, goarch string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			info.Platform = goos + "/" + goarch
		}
	}
	if info.ModuleVersion == "" {
		info.ModuleVersion = Devel
	}
	info.Version = info.ModuleVersion
	if release != "" {
		info.Version = release
	}
	return info
}

// String is one line for people:
//
//	webhook 0.1.0 (revision 8748c92b…, 2026-12-05T08:00:00Z, modified; module v0.0.0-…) go1.26.8 linux/amd64
func (i Info) String() string {
	var details []string
	if i.Revision != "" {
		details = append(details, "revision "+i.Revision)
	}
	if i.Time != "" {
		details = append(details, i.Time)
	}
	if i.Modified {
		details = append(details, "modified")
	}
	if i.ModuleVersion != i.Version {
		details = append(details, "module "+i.ModuleVersion)
	}
	s := "webhook " + i.Version
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s", s, i.GoVersion, i.Platform)
}
