package envconfig

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints the variables of the given scopes (all when none) as an
// aligned table, marking those set in this environment. Values are not
// shown: REEL_NATS may carry credentials.
func WriteText(w io.Writer, scopes ...Scope) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tSET\tDEFAULT\tUSED BY\tMEANING")
	for _, v := range filter(scopes) {
		set := ""
		if _, ok := Value(v.Name); ok {
			set = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, set, orDash(v.Default), v.UsedBy, v.Help)
	}
	return tw.Flush()
}

// Markdown is the README's table of the runtime and test variables (the
// child-process markers are internal).
func Markdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | used by | meaning |\n| --- | --- | --- | --- |\n")
	for _, v := range filter([]Scope{Runtime, Test}) {
		used := v.UsedBy
		if v.Scope == Test {
			used = "tests only"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, orDash(v.Default), used, v.Help)
	}
	return b.String()
}

func filter(scopes []Scope) []Var {
	var out []Var
	for _, v := range Vars() {
		if len(scopes) == 0 || slices.Contains(scopes, v.Scope) {
			out = append(out, v)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
