# plots/common.gp - settings every casbench plot shares. Each script is run by
# `casbench report` as: gnuplot -e "data='...'; out='...'; ..." plots/X.gp
# and writes out.png.tmp and out.svg.tmp (casbench renames them).
set datafile separator "\t"
set termoption noenhanced
set grid
set key noenhanced
# Twelve distinguishable line colours (gnuplot's default cycle has eight).
set linetype 1 lc rgb "#1f77b4" lw 2
set linetype 2 lc rgb "#ff7f0e" lw 2
set linetype 3 lc rgb "#2ca02c" lw 2
set linetype 4 lc rgb "#d62728" lw 2
set linetype 5 lc rgb "#9467bd" lw 2
set linetype 6 lc rgb "#8c564b" lw 2
set linetype 7 lc rgb "#e377c2" lw 2
set linetype 8 lc rgb "#7f7f7f" lw 2
set linetype 9 lc rgb "#bcbd22" lw 2
set linetype 10 lc rgb "#17becf" lw 2
set linetype 11 lc rgb "#000000" lw 2
set linetype 12 lc rgb "#aec7e8" lw 2
set linetype cycle 12
