package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/ws-defaults/ws-defaults", Version: "v0.0.0-20261205080000-8748c92b1234+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "GOARCH", Value: "arm64"},
			{Key: "GOOS", Value: "linux"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "8748c92b1234567890abcdef8748c92b12345678"},
			{Key: "vcs.time", Value: "2026-12-05T08:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name    string
		bi      *debug.BuildInfo
		release string
		want    Info
		line    string
	}{
		{
			name: "checkout",
			bi:   stamped,
			want: Info{
				Version: "v0.0.0-20261205080000-8748c92b1234+dirty", Module: "github.com/ws-defaults/ws-defaults",
				ModuleVersion: "v0.0.0-20261205080000-8748c92b1234+dirty",
				Revision:      "8748c92b1234567890abcdef8748c92b12345678", Time: "2026-12-05T08:00:00Z", Modified: true,
				GoVersion: "go1.26.8", Platform: "linux/arm64",
			},
			line: "webhook v0.0.0-20261205080000-8748c92b1234+dirty (revision 8748c92b1234567890abcdef8748c92b12345678, 2026-12-05T08:00:00Z, modified) go1.26.8 linux/arm64",
		},
		{
			name:    "image build",
			bi:      stamped,
			release: "0.1.0",
			want: Info{
				Version: "0.1.0", Module: "github.com/ws-defaults/ws-defaults",
				ModuleVersion: "v0.0.0-20261205080000-8748c92b1234+dirty",
				Revision:      "8748c92b1234567890abcdef8748c92b12345678", Time: "2026-12-05T08:00:00Z", Modified: true,
				GoVersion: "go1.26.8", Platform: "linux/arm64",
			},
			line: "webhook 0.1.0 (revision 8748c92b1234567890abcdef8748c92b12345678, 2026-12-05T08:00:00Z, modified, module v0.0.0-20261205080000-8748c92b1234+dirty) go1.26.8 linux/arm64",
		},
		{
			name: "no VCS stamping",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ws-defaults/ws-defaults", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
			want: Info{Version: Devel, Module: "github.com/ws-defaults/ws-defaults", ModuleVersion: Devel, GoVersion: "go1.26.8", Platform: "linux/amd64"},
			line: "webhook (devel) go1.26.8 linux/amd64",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromBuildInfo(tc.bi, tc.release)
			if got != tc.want {
				t.Errorf("FromBuildInfo:\n got %+v\nwant %+v", got, tc.want)
			}
			if s := got.String(); s != tc.line {
				t.Errorf("String:\n got %s\nwant %s", s, tc.line)
			}
		})
	}
}

// A binary without build information (none is stamped in some test
// binaries) still names its toolchain and platform.
func TestFromBuildInfoNil(t *testing.T) {
	got := FromBuildInfo(nil, "")
	if got.Version != Devel || !strings.HasPrefix(got.GoVersion, "go") || !strings.Contains(got.Platform, "/") {
		t.Errorf("FromBuildInfo(nil) = %+v", got)
	}
}

// The running test binary reads its own build information.
func TestGet(t *testing.T) {
	got := Get()
	if got.Module != "github.com/ws-defaults/ws-defaults" || got.GoVersion == "" {
		t.Errorf("Get() = %+v", got)
	}
}
