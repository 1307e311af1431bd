#!/bin/sh
# Where `reel generate`'s whole process goes, phase by phase, next to
# `reel bench`'s (BENCHMARKS.md, "Per-job tail"). Each round runs
# `reel generate` of the default job (a fresh --data directory each time),
# timing its progress lines as they arrive on stderr, then
# `reel bench --runs 1 --json`. Printed per round and as medians:
#
#   generate: exec -> job id, job id -> textenc done, textenc done -> step 1,
#             step 1 -> denoise done, denoise done -> succeeded,
#             succeeded -> exit, whole process
#   bench:    text, steps, decode, total (its own timings), whole process
#
# usage: stages/encode/bench/phases.sh ROUNDS REEL
set -eu
rounds=$1
bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prompt="a red circle moving right"

# An untimed first job reads the binary and ffmpeg's libraries into the page
# cache (see tail.sh).
rm -rf "$work/data"
"$bin" generate "$prompt" --data "$work/data" -o "$work/out.mp4" >/dev/null 2>&1

for r in $(seq "$rounds"); do
	rm -rf "$work/data"
	g=$(perl -MTime::HiRes=time -e '
		my $t0 = time; my %t;
		open(my $p, "-|", "$ARGV[0] generate \"$ARGV[1]\" --data $ARGV[2]/data -o $ARGV[2]/out.mp4 2>&1 >/dev/null") or die;
		while (<$p>) {
			my $n = time;
			$t{job} //= $n if /^job /;
			$t{text} //= $n if /textenc done/;
			$t{step1} //= $n if m{ step 1/};
			$t{denoise} //= $n if /denoise done/;
			$t{ok} //= $n if /succeeded:/;
		}
		close($p) or die "generate failed\n";
		my $e = time;
		for (qw(job text step1 denoise ok)) { die "no $_ line\n" unless $t{$_} }
		printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f", $t{job} - $t0, $t{text} - $t{job}, $t{step1} - $t{text},
			$t{denoise} - $t{step1}, $t{ok} - $t{denoise}, $e - $t{ok}, $e - $t0;
	' "$bin" "$prompt" "$work")
	b=$(perl -MTime::HiRes=time -e '
		my $t0 = time; my $out = `$ARGV[0] bench --runs 1 --json`; die "bench failed\n" if $?;
		my $e = time;
		my @v = map { $out =~ /"${_}_s":\s*([\d.e+-]+)/ ? $1 : die "no ${_}_s\n" } qw(text steps decode total);
		printf "%.3f %.3f %.3f %.3f %.3f", @v, $e - $t0;
	' "$bin")
	echo "round $r  generate: $g  bench: $b"
done | tee "$work/rounds"

perl -e '
	my @gn = ("exec->job", "job->textenc done", "textenc done->step 1", "step 1->denoise done",
		"denoise done->succeeded", "succeeded->exit", "generate whole");
	my @bn = ("bench text", "bench steps", "bench decode", "bench total", "bench whole");
	my (@g, @b);
	while (<>) {
		my ($gs, $bs) = /generate: (.*)  bench: (.*)/ or next;
		my @x = split " ", $gs; push @{$g[$_]}, $x[$_] for 0..$#x;
		my @y = split " ", $bs; push @{$b[$_]}, $y[$_] for 0..$#y;
	}
	sub med { my @s = sort { $a <=> $b } @_; ($s[int(($#s) / 2)] + $s[int(($#s + 1) / 2)]) / 2 }
	printf "%-24s median %.3f s\n", $gn[$_], med(@{$g[$_]}) for 0..$#gn;
	printf "%-24s median %.3f s\n", $bn[$_], med(@{$b[$_]}) for 0..$#bn;
	printf "%-24s %.3f (medians)\n", "generate / bench whole", med(@{$g[-1]}) / med(@{$b[-1]});
' "$work/rounds"
