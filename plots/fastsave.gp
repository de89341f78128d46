# The fast save variants of one codec + hash, per payload, as multiples of the
# sequential save (log scale): each variant's median and the limits the run
# has (the slowest single stage alone, a memcpy of the blob). Variables: data,
# out, title, nvar (variant columns after the payload column), nlim (limit
# columns after those, 0..2). Column headers are the legend.
load "common.gp"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set key below box
set key autotitle columnheader
set ylabel "median / sequential save median (log scale)"
set title "Fast save variants: ".title." (below 1: faster than sequential)"
set grid noxtics
set xtics nomirror
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,600 font "sans,10" noenhanced } \
  else { set terminal svg size 1100,600 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot for [i=2:nvar+1] data using i:xtic(1) lc (i - 1), \
       for [i=nvar+2:nvar+1+nlim] data using i lc rgb (i == nvar + 2 ? "#555555" : "#bbbbbb") fs pattern (i == nvar + 2 ? 4 : 2), \
       1 with lines dt 2 lc rgb "#000000" lw 1 title "sequential"
  set output
}
