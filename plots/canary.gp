# The canary cell over the run (rounds.tsv via casbench report): its time
# relative to its median, with the load average and steal on a second axis.
# Variables: data, out.
load "common.gp"
set xlabel "seconds since the first round"
set ylabel "canary time / its median"
set y2label "load average (1 min) / steal %"
set y2tics
set ytics nomirror
set title "Drift over the run: a fixed canary cell"
set key outside right top
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,480 font "sans,10" noenhanced } \
  else { set terminal svg size 1100,480 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot data using 1:2 every ::1 with linespoints pt 7 ps 0.6 title "canary / median", \
       data using 1:3 every ::1 axes x1y2 with lines lw 1 title "load average", \
       data using 1:4 every ::1 axes x1y2 with lines lw 1 title "steal %"
  set output
}
