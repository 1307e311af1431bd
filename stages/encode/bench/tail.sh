#!/bin/sh
# Per-job tail of `reel generate` side by side with `reel bench` (BENCHMARKS.md,
# "Per-job tail"). Each round runs, one after the other: `reel generate` of the
# default job with each binary given (a fresh --data directory each time), then
# `reel bench --runs 1` with the first. For a generate run it prints the
# whole-process wall time, and from generate's own progress lines (timestamped
# here as they arrive on stderr) the start: exec -> the job's id line (server,
# streams, engines), the decode phase: denoise done -> job succeeded, and the
# tail: last chunk decoded -> job succeeded; for bench, its
# generation's total and its whole-process wall time.
# The summary gives the median and the best of each column. A first, untimed
# round reads every binary (and ffmpeg's libraries) into the page cache: on a
# host that keeps little cache, the first run after a pause spent seconds
# reading them (BENCHMARKS.md).
#
# usage: stages/encode/bench/tail.sh ROUNDS REEL [REEL ...]
set -eu
rounds=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prompt="a red circle moving right"

# gen BIN: prints "WALL START DECODE TAIL" in seconds.
gen() {
	rm -rf "$work/data"
	perl -MTime::HiRes=time -e '
		my $t0 = time; my ($job, $den, $dec, $ok);
		open(my $p, "-|", "$ARGV[0] generate \"$ARGV[1]\" --data $ARGV[2]/data -o $ARGV[2]/out.mp4 2>&1 >/dev/null") or die;
		while (<$p>) {
			$job //= time if /^job /;
			$den = time if /denoise done/;
			$dec = time if /decoded chunk \d+ \((\d+)\/\1\)/;
			$ok = time if /succeeded:/;
		}
		close($p) or die "generate failed\n";
		die "no progress lines\n" unless $job && $den && $dec && $ok;
		printf "%.3f %.3f %.3f %.3f\n", time - $t0, $job - $t0, $ok - $den, $ok - $dec;
	' "$1" "$prompt" "$work"
}

for bin in "$@"; do gen "$bin" >/dev/null; done
"$1" bench --runs 1 --steps 1 >/dev/null

for r in $(seq "$rounds"); do
	line="round $r"
	for bin in "$@"; do
		line="$line  $(basename "$bin"): $(gen "$bin")"
	done
	b=$(perl -MTime::HiRes=time -e '
		my $t0 = time; my $out = `$ARGV[0] bench --runs 1`; die "bench failed\n" if $?;
		my ($tot) = $out =~ /^run 1:.*total ([\d.]+)s/m or die "no total\n";
		printf "%.3f %.3f\n", $tot, time - $t0;
	' "$1")
	echo "$line  bench: $b  load: $(cut -d' ' -f1 /proc/loadavg)"
done | tee "$work/rounds"

# Columns: for each binary its wall, start, decode phase and tail, then bench's total
# and wall.
names=""
for bin in "$@"; do names="$names $(basename "$bin")"; done
perl -e '
	my @bins = split " ", shift;
	my @names = ((map { ("$_ wall", "$_ start", "$_ decode", "$_ tail") } @bins), "bench total", "bench wall");
	my (@c, @med);
	while (<>) { my @n = /(\d+\.\d+)/g; pop @n; push @{$c[$_]}, $n[$_] for 0..$#n; }
	for my $i (0..$#c) {
		my @s = sort { $a <=> $b } @{$c[$i]}; my $n = @s;
		$med[$i] = ($s[int(($n - 1) / 2)] + $s[int($n / 2)]) / 2;
		printf "%-22s median %.3f s  best %.3f s  (%d rounds)\n", $names[$i], $med[$i], $s[0], $n;
	}
	printf "%-22s %.3f (medians)\n", "$bins[$_] / bench wall", $med[4 * $_] / $med[-1] for 0..$#bins;
' "$names" "$work/rounds"
