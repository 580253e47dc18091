package apachetest

import (
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fatalTB records Fatalf and ends the goroutine as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = format
	if len(args) > 0 {
		f.msg = strings.TrimSpace(sprintf(format, args...))
	}
	f.mu.Unlock()
	runtime.Goexit()
}

// Without httpd, Start fails the test (it never skips) and says how to
// install it.
func TestStartWithoutBinaryFails(t *testing.T) {
	f := &fatalTB{TB: t}
	done := make(chan *Server)
	go func() {
		defer close(done)
		done <- Start(f, Config{Binary: t.TempDir() + "/no-such-apache2"})
	}()
	if s := <-done; s != nil {
		t.Fatalf("Start returned a server without a binary")
	}
	for _, want := range []string{"no-such-apache2", "apt-get install -y apache2"} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("Fatalf message %q does not mention %q", f.msg, want)
		}
	}
}

func TestStartWithoutModuleFails(t *testing.T) {
	bin := t.TempDir() + "/apache2"
	writeFile(t, bin, "#!/bin/sh\nexit 1\n")
	f := &fatalTB{TB: t}
	done := make(chan *Server)
	go func() {
		defer close(done)
		done <- Start(f, Config{Binary: bin, ModuleDir: t.TempDir()})
	}()
	if s := <-done; s != nil {
		t.Fatalf("Start returned a server without modules")
	}
	if !strings.Contains(f.msg, "module mpm_event") {
		t.Errorf("Fatalf message %q does not name the missing module", f.msg)
	}
}

func TestRenderConfig(t *testing.T) {
	conf := renderConfig(Config{Directives: "ProxyPass / http://x/", LogLevel: "debug"}, "/tmp/d", "/mods", 4242,
		append(baseModules, "rewrite"))
	for _, want := range []string{
		"Define APACHETEST_ADDR 127.0.0.1:4242\n",
		"ServerRoot \"/tmp/d\"\n",
		"DefaultRuntimeDir \"/tmp/d\"\n",
		"PidFile \"/tmp/d/httpd.pid\"\n",
		"ErrorLog \"/tmp/d/error.log\"\n",
		"LogLevel debug\n",
		"LoadModule mpm_event_module \"/mods/mod_mpm_event.so\"\n",
		"LoadModule rewrite_module \"/mods/mod_rewrite.so\"\n",
		"Listen 127.0.0.1:4242\n",
		"User #",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if i, j := strings.Index(conf, "LoadModule"), strings.Index(conf, "ProxyPass"); i > j {
		t.Errorf("directives come before the modules:\n%s", conf)
	}
}
