//go:build unix

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// chromiumCommand returns a command that runs browser with a profile of
// its own and args, in a process group of its own. Chromium's helper
// processes (crash handler, renderers) outlive the browser process and
// keep writing to the profile; at the test's end the whole group is
// killed, and the profile removed once no process of the group is left.
func chromiumCommand(t *testing.T, ctx context.Context, browser string, args ...string) *exec.Cmd {
	t.Helper()
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, browser, append([]string{"--user-data-dir=" + profile}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		if cmd.Process != nil {
			killGroup(t, cmd.Process.Pid)
		}
		if err := os.RemoveAll(profile); err != nil {
			t.Logf("chromium profile %s left behind: %v", profile, err)
		}
	})
	return cmd
}

// killGroup kills process group pgid and waits, up to 10 s, until none of
// its processes is left.
func killGroup(t *testing.T, pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
	t.Logf("chromium's process group %d still has processes 10 s after SIGKILL", pgid)
}
