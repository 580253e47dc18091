package httpdconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// maxIncludeDepth bounds Include nesting (a file that includes itself).
const maxIncludeDepth = 16

// maxSectionDepth bounds section nesting.
const maxSectionDepth = 64

// Parse reads a configuration from r; name is used as the file name in
// positions and errors. Include and IncludeOptional are not followed (they
// produce warnings); use [ParseFile] or [ParseFS] for that. It returns the
// first error, as an *[Error].
func Parse(name string, r io.Reader) (*File, error) {
	p := newParser(nil, nil)
	if err := p.parseStream(name, r, scope{}, 0); err != nil {
		return nil, err
	}
	p.finish()
	return p.file, nil
}

// ParseFile reads the configuration file at filename and follows Include and
// IncludeOptional: a relative include path is taken relative to ServerRoot
// if the configuration sets one (itself relative to the file's directory if
// not absolute), else relative to the directory of filename. It returns the
// first error, as an *[Error].
func ParseFile(filename string) (*File, error) {
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, &Error{File: filename, Msg: err.Error(), Err: err}
	}
	vol := filepath.VolumeName(abs)
	root := vol + string(filepath.Separator)
	rel := filepath.ToSlash(strings.TrimPrefix(abs, root))
	display := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	return parseFS(os.DirFS(root), rel, display)
}

// ParseFS reads the configuration file name from fsys and follows Include
// and IncludeOptional within fsys: absolute include paths are taken
// relative to the root of fsys, relative ones relative to ServerRoot or, if
// none is set, the directory of name. It returns the first error, as an
// *[Error].
func ParseFS(fsys fs.FS, name string) (*File, error) {
	return parseFS(fsys, name, func(p string) string { return p })
}

func parseFS(fsys fs.FS, name string, display func(string) string) (*File, error) {
	p := newParser(fsys, display)
	p.mainDir = path.Dir(name)
	f, err := fsys.Open(name)
	if err != nil {
		return nil, &Error{File: display(name), Msg: "cannot open: " + errText(err), Err: err}
	}
	defer f.Close()
	if err := p.parseStream(display(name), f, scope{}, 0); err != nil {
		return nil, err
	}
	p.finish()
	return p.file, nil
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

type parser struct {
	file      *File
	balancers map[string]*Balancer
	fsys      fs.FS               // nil: includes are not followed
	display   func(string) string // fs path -> name shown in positions
	mainDir   string              // fs directory of the main file
	params    map[string]bool     // Define'd parameter names (for <IfDefine>)
	vars      map[string]string   // Define'd variables with a value (for ${NAME})

	// Indexes for lookups that would otherwise scan (hostile input can
	// have very many directives).
	members   map[*Balancer]map[string]*Member // authority key -> member
	workers   map[string]*Member               // authority key -> ProxyPass worker
	templates map[string]*HCTemplate           // lower-cased name -> first template
	exprs     map[string]int                   // lower-cased name -> index in File.HCExprs

	sawAccess bool // skipBody saw an access directive
}

func newParser(fsys fs.FS, display func(string) string) *parser {
	return &parser{
		file:      &File{},
		balancers: map[string]*Balancer{},
		fsys:      fsys,
		display:   display,
		params:    map[string]bool{},
		vars:      map[string]string{},
		members:   map[*Balancer]map[string]*Member{},
		workers:   map[string]*Member{},
		templates: map[string]*HCTemplate{},
		exprs:     map[string]int{},
	}
}

// scope is what encloses a directive.
type scope struct {
	balancer   *Balancer // inside <Proxy balancer://...>
	location   string    // the <Location> path, if inLocation
	inLocation bool
	vhost      string // the <VirtualHost> addresses, if inVhost
	inVhost    bool
	vhostIdx   int // 1-based index in File.VirtualHosts
	depth      int // section nesting

	section  *Section  // the <Location> or <Proxy> access rules go to
	group    *reqGroup // the open <RequireAll|Any|None>, if any
	inReqAll bool      // group is a <RequireAll>: negative rules allowed
	urlProxy bool      // inside <Proxy> of a URL that is not a balancer
}

// source is one file being read.
type source struct {
	name string
	lx   *lexer
}

func (p *parser) warn(pos Pos, directive, format string, args ...any) {
	p.file.Warnings = append(p.file.Warnings, Warning{File: pos.File, Line: pos.Line, Directive: directive, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parseStream(name string, r io.Reader, sc scope, incDepth int) error {
	src := &source{name: name, lx: newLexer(r)}
	return p.parseBody(src, sc, "", Pos{}, incDepth)
}

// readLine returns the next logical line of src, converting lexer errors.
func (p *parser) readLine(src *source) (Pos, string, error) {
	line, text, err := src.lx.next()
	if err == nil || errors.Is(err, io.EOF) {
		return Pos{File: src.name, Line: line}, text, err
	}
	if line < 1 {
		line = 1
	}
	if errors.Is(err, errLineTooLong) {
		return Pos{}, "", &Error{File: src.name, Line: line, Msg: fmt.Sprintf("line longer than %d bytes", maxLogicalLine)}
	}
	return Pos{}, "", &Error{File: src.name, Line: line, Msg: "read error: " + err.Error(), Err: err}
}

// parseBody reads directives until the end of src (end == "") or until the
// closing tag of the section end opened at open.
func (p *parser) parseBody(src *source, sc scope, end string, open Pos, incDepth int) error {
	for {
		pos, text, err := p.readLine(src)
		if errors.Is(err, io.EOF) {
			if end != "" {
				return open.Errorf("<"+end+">", "section not closed: expected </%s> before the end of the file", end)
			}
			return nil
		}
		if err != nil {
			return err
		}
		text, err = p.expandVars(pos, text)
		if err != nil {
			return err
		}
		word, rest := getWord(text)
		switch {
		case strings.HasPrefix(word, "</"):
			tag := strings.TrimSuffix(word[2:], ">")
			if end == "" {
				return pos.Errorf("</"+tag+">", "</%s> without matching <%s> section", tag, tag)
			}
			if !strings.EqualFold(tag, end) {
				return pos.Errorf("</"+tag+">", "expected </%s> (opened at line %d) but saw </%s>", end, open.Line, tag)
			}
			return nil
		case strings.HasPrefix(word, "<"):
			if err := p.section(src, sc, pos, word, rest, incDepth); err != nil {
				return err
			}
		default:
			if err := p.directive(sc, pos, word, rest, incDepth); err != nil {
				return err
			}
		}
	}
}

// skipBody reads and discards the body of a section, checking only that
// sections nest properly, until its closing tag.
func (p *parser) skipBody(src *source, end string, open Pos) error {
	var stack []string
	for {
		pos, text, err := p.readLine(src)
		if errors.Is(err, io.EOF) {
			return open.Errorf("<"+end+">", "section not closed: expected </%s> before the end of the file", end)
		}
		if err != nil {
			return err
		}
		word, _ := getWord(text)
		if accessDirectives[strings.ToLower(strings.TrimSuffix(word, ">"))] {
			p.sawAccess = true
		}
		if text[0] != '<' {
			continue
		}
		if strings.HasPrefix(word, "</") {
			tag := strings.TrimSuffix(word[2:], ">")
			want := end
			if n := len(stack); n > 0 {
				want = stack[n-1]
			}
			if !strings.EqualFold(tag, want) {
				return pos.Errorf("</"+tag+">", "expected </%s> but saw </%s>", want, tag)
			}
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) >= maxSectionDepth {
			return pos.Errorf(word, "sections nested too deeply")
		}
		stack = append(stack, strings.TrimSuffix(word[1:], ">"))
	}
}

// expandVars replaces ${NAME} with the value given by an earlier Define, as
// httpd does for every configuration line. Undefined names are left as
// written and draw a warning; environment variables are not consulted.
func (p *parser) expandVars(pos Pos, s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		name := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		if v, ok := p.vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+3+j])
			p.warn(pos, "", "config variable ${%s} is not defined (only Define is consulted, not the environment)", name)
		}
		if b.Len() > maxLogicalLine {
			return "", pos.Errorf("", "line longer than %d bytes after variable expansion", maxLogicalLine)
		}
		s = s[i+3+j:]
	}
	return b.String(), nil
}

// section handles a line starting with '<'.
func (p *parser) section(src *source, sc scope, pos Pos, word, rest string, incDepth int) error {
	name := word[1:]
	var argText string
	if strings.HasSuffix(name, ">") {
		name = name[:len(name)-1]
		if rest != "" {
			p.warn(pos, "<"+name+">", "text after '>' ignored: %q", rest)
		}
	} else {
		i := strings.LastIndexByte(rest, '>')
		if i < 0 {
			return pos.Errorf("<"+name+">", "<%s directive missing closing '>'", name)
		}
		argText = rest[:i]
		if t := trimSpace(rest[i+1:]); t != "" {
			p.warn(pos, "<"+name+">", "text after '>' ignored: %q", t)
		}
	}
	if name == "" {
		return pos.Errorf("<>", "empty section name")
	}
	dname := "<" + canonicalSection(name) + ">"
	if sc.depth >= maxSectionDepth {
		return pos.Errorf(dname, "sections nested too deeply")
	}
	args := words(argText)
	inner := sc
	inner.depth++
	switch strings.ToLower(name) {
	case "ifmodule":
		if len(args) != 1 || args[0] == "" || args[0] == "!" {
			return pos.Errorf(dname, "<IfModule> takes one argument: a module name or file, optionally preceded by '!'")
		}
		if strings.HasPrefix(args[0], "!") {
			p.warn(pos, dname, "body skipped: every module is assumed loaded, so <IfModule %s> is false", args[0])
			return p.skipBody(src, name, pos)
		}
		return p.parseBody(src, inner, name, pos, incDepth)
	case "ifdefine":
		if len(args) != 1 || args[0] == "" || args[0] == "!" {
			return pos.Errorf(dname, "<IfDefine> takes one argument: a parameter name, optionally preceded by '!'")
		}
		neg := strings.HasPrefix(args[0], "!")
		defined := p.params[strings.TrimPrefix(args[0], "!")]
		if defined == neg {
			p.warn(pos, dname, "body skipped: condition %s is false (only Define is consulted, no -D parameters)", args[0])
			return p.skipBody(src, name, pos)
		}
		return p.parseBody(src, inner, name, pos, incDepth)
	case "ifversion":
		ok, msg := ifVersion(args)
		if msg != "" {
			return pos.Errorf(dname, "%s", msg)
		}
		if !ok {
			return p.skipBody(src, name, pos)
		}
		return p.parseBody(src, inner, name, pos, incDepth)
	case "virtualhost":
		if sc.inVhost {
			return pos.Errorf(dname, "<VirtualHost> cannot occur within <VirtualHost> section")
		}
		if sc.inLocation || sc.balancer != nil {
			return pos.Errorf(dname, "<VirtualHost> is not allowed here")
		}
		if len(args) == 0 {
			return pos.Errorf(dname, "<VirtualHost> requires at least one address")
		}
		p.file.VirtualHosts = append(p.file.VirtualHosts, &VirtualHost{Pos: pos, Addrs: args})
		inner.inVhost, inner.vhost, inner.vhostIdx = true, strings.Join(args, " "), len(p.file.VirtualHosts)
		return p.parseBody(src, inner, name, pos, incDepth)
	case "proxy":
		if sc.inLocation || sc.balancer != nil || sc.section != nil {
			return pos.Errorf(dname, "<Proxy> is not allowed inside <Location> or <Proxy>")
		}
		if len(args) == 0 {
			return pos.Errorf(dname, "<Proxy> requires a URL")
		}
		sec := &Section{Pos: pos, Proxy: true, Path: args[0], VirtualHost: sc.vhost, VHost: sc.vhostIdx}
		inner.section = sec
		if !isBalancerURL(args[0]) {
			inner.urlProxy = true
			if err := p.parseBody(src, inner, name, pos, incDepth); err != nil {
				return err
			}
			if !sec.HasAccess() {
				p.warn(pos, dname, "section for %q skipped: only balancer:// sections are part of the balancing subset", args[0])
			}
			p.addSection(sec)
			return nil
		}
		bn, ok := balancerName(args[0])
		if !ok {
			return pos.Errorf(dname, "bad syntax for a balancer name: %q", args[0])
		}
		sec.Path = bn
		b := p.balancer(bn, pos)
		var ps paramTable
		for _, w := range args[1:] {
			k, v, ok := splitParam(w)
			if !ok {
				return pos.Errorf(dname, "invalid parameter %q: parameters must be in the form key=value", w)
			}
			ps.set(k, v)
		}
		for _, kv := range ps.list {
			if err := p.applyBalancer(b, kv, pos, dname); err != nil {
				return err
			}
		}
		inner.balancer = b
		if err := p.parseBody(src, inner, name, pos, incDepth); err != nil {
			return err
		}
		p.addSection(sec)
		return nil
	case "location":
		if sc.inLocation || sc.balancer != nil || sc.section != nil {
			return pos.Errorf(dname, "<Location> cannot occur within <Location> or <Proxy> section")
		}
		if len(args) == 0 || args[0] == "" {
			return pos.Errorf(dname, "<Location> requires a path")
		}
		if args[0] == "~" {
			return p.skipChecked(src, pos, name, dname, "regular-expression location")
		}
		if len(args) > 1 {
			p.warn(pos, dname, "extra arguments ignored: %q", strings.Join(args[1:], " "))
		}
		sec := &Section{Pos: pos, Path: args[0], VirtualHost: sc.vhost, VHost: sc.vhostIdx}
		inner.inLocation, inner.location, inner.section = true, args[0], sec
		if err := p.parseBody(src, inner, name, pos, incDepth); err != nil {
			return err
		}
		p.addSection(sec)
		return nil
	case "requireall", "requireany", "requirenone":
		return p.requireSection(src, sc, pos, canonicalSection(name), args, incDepth)
	case "directory", "directorymatch", "files", "filesmatch":
		p.sawAccess = false
		if err := p.skipBody(src, name, pos); err != nil {
			return err
		}
		if p.sawAccess {
			p.file.FileAccess = append(p.file.FileAccess, pos)
			p.warn(pos, dname, "section skipped: its access rules apply only to requests httpd serves from files (proxied requests do not reach them)")
			return nil
		}
		p.warn(pos, dname, "section skipped: outside the balancing subset")
		return nil
	}
	return p.skipChecked(src, pos, name, dname, "section")
}

var canonicalSections = map[string]string{
	"ifmodule": "IfModule", "ifdefine": "IfDefine", "ifversion": "IfVersion",
	"virtualhost": "VirtualHost", "proxy": "Proxy", "proxymatch": "ProxyMatch",
	"location": "Location", "locationmatch": "LocationMatch",
	"directory": "Directory", "directorymatch": "DirectoryMatch",
	"files": "Files", "filesmatch": "FilesMatch", "if": "If", "elseif": "ElseIf", "else": "Else",
	"requireall": "RequireAll", "requireany": "RequireAny", "requirenone": "RequireNone",
	"limit": "Limit", "limitexcept": "LimitExcept",
}

// skipChecked skips a section outside the subset, refusing it when it
// holds access rules: skipping those would serve requests httpd refuses.
func (p *parser) skipChecked(src *source, pos Pos, name, dname, what string) error {
	p.sawAccess = false
	if err := p.skipBody(src, name, pos); err != nil {
		return err
	}
	if p.sawAccess {
		return pos.Errorf(dname, "%s with access rules cannot be enforced here (only <Location path> and <Proxy> sections' are): refused rather than skipped", what)
	}
	p.warn(pos, dname, "%s skipped: outside the balancing subset", what)
	return nil
}

// addSection records a <Location> or <Proxy> section that matters: one
// with access rules or a balancer-manager.
func (p *parser) addSection(s *Section) {
	if s.HasAccess() || s.Manager {
		p.file.Sections = append(p.file.Sections, s)
	}
}

func canonicalSection(name string) string {
	if c, ok := canonicalSections[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// balancer returns the balancer with the canonical name bn, defining it at
// pos if it does not exist yet.
func (p *parser) balancer(bn string, pos Pos) *Balancer {
	if b, ok := p.balancers[bn]; ok {
		return b
	}
	b := &Balancer{Pos: pos, Name: bn}
	p.balancers[bn] = b
	p.file.Balancers = append(p.file.Balancers, b)
	return b
}

// applyBalancer applies one balancer parameter, turning the result into an
// error or a warning for directive dname at pos.
func (p *parser) applyBalancer(b *Balancer, kv Param, pos Pos, dname string) error {
	res := p.setBalancerParam(b, kv.Key, kv.Value, pos)
	if res.err != "" {
		return pos.Errorf(dname, "%s: %s", quoteParam(kv.Key, kv.Value), res.err)
	}
	if res.warn != "" {
		p.warn(pos, dname, "%s", res.warn)
	}
	return nil
}

// applyWorker applies one member parameter likewise.
func (p *parser) applyWorker(m *Member, kv Param, pos Pos, dname string) error {
	res := p.setWorkerParam(m, kv.Key, kv.Value)
	if res.err != "" {
		return pos.Errorf(dname, "%s: %s", quoteParam(kv.Key, kv.Value), res.err)
	}
	if res.warn != "" {
		p.warn(pos, dname, "%s", res.warn)
	}
	return nil
}

// include follows Include/IncludeOptional.
func (p *parser) include(sc scope, pos Pos, dname, arg string, optional bool, incDepth int) error {
	if p.fsys == nil {
		p.warn(pos, dname, "%s not followed: parsing from a reader (use ParseFile or ParseFS)", arg)
		return nil
	}
	if incDepth+1 > maxIncludeDepth {
		return pos.Errorf(dname, "includes nested more than %d deep (does a file include itself?)", maxIncludeDepth)
	}
	pat := p.includePath(arg)
	var files []string
	if strings.ContainsAny(pat, "*?[") {
		matches, err := fs.Glob(p.fsys, pat)
		if err != nil {
			return pos.Errorf(dname, "bad pattern %q: %v", arg, err)
		}
		for _, m := range matches {
			fi, err := fs.Stat(p.fsys, m)
			if err != nil {
				continue
			}
			if fi.IsDir() {
				files = append(files, p.dirFiles(m)...)
			} else {
				files = append(files, m)
			}
		}
		if len(files) == 0 && !optional {
			return pos.Errorf(dname, "no matches for the wildcard pattern %q", arg)
		}
	} else {
		fi, err := fs.Stat(p.fsys, pat)
		switch {
		case err != nil && optional:
			return nil
		case err != nil:
			return pos.Errorf(dname, "cannot open %q: %s", arg, errText(err))
		case fi.IsDir():
			files = p.dirFiles(pat)
		default:
			files = []string{pat}
		}
	}
	sort.Strings(files)
	for _, name := range files {
		if err := p.includeFile(sc, pos, dname, name, incDepth+1); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) includeFile(sc scope, pos Pos, dname, name string, incDepth int) error {
	f, err := p.fsys.Open(name)
	if err != nil {
		return pos.Errorf(dname, "cannot open %q: %s", p.display(name), errText(err))
	}
	defer f.Close()
	return p.parseStream(p.display(name), f, sc, incDepth)
}

// dirFiles lists the regular files under dir, recursively, sorted.
func (p *parser) dirFiles(dir string) []string {
	var out []string
	_ = fs.WalkDir(p.fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, name)
		}
		return nil
	})
	return out
}

// includePath maps an Include argument to a path in p.fsys.
func (p *parser) includePath(arg string) string {
	a := filepath.ToSlash(arg)
	if strings.HasPrefix(a, "/") {
		return cleanFS(a)
	}
	base := p.mainDir
	if root := filepath.ToSlash(p.file.ServerRoot); root != "" {
		if strings.HasPrefix(root, "/") {
			base = cleanFS(root)
		} else {
			base = path.Join(p.mainDir, root)
		}
	}
	return cleanFS(path.Join(base, a))
}

// cleanFS turns a slash path into an fs.FS path (no leading slash, "." for
// the root).
func cleanFS(s string) string {
	s = strings.TrimLeft(path.Clean("/"+s), "/")
	if s == "" {
		return "."
	}
	return s
}

// finish runs the checks that need the whole configuration.
func (p *parser) finish() {
	f := p.file
	byCookie := map[string][]*Balancer{}
	for _, b := range f.Balancers {
		if b.StickyCookie != "" {
			byCookie[b.StickyCookie] = append(byCookie[b.StickyCookie], b)
		}
	}
	for i := range f.RouteCookies {
		rc := &f.RouteCookies[i]
		targets := byCookie[rc.Name]
		if rc.Balancer != "" {
			targets = []*Balancer{p.balancers[rc.Balancer]}
		}
		if len(targets) == 0 {
			p.warn(rc.Pos, "Header", "route cookie %q matches no balancer's stickysession cookie name", rc.Name)
		}
		for _, b := range targets {
			if b.RouteCookie != nil {
				p.warn(rc.Pos, "Header", "%s already has a route cookie recipe (line %d); this one is not attached", b.Name, b.RouteCookie.Pos.Line)
				continue
			}
			b.RouteCookie = rc
		}
	}
	for _, b := range f.Balancers {
		if len(b.Members) == 0 {
			p.warn(b.Pos, "", "%s has no members", b.Name)
		}
	}
}
