# process.oomScoreAdj.
.process.oomScoreAdj = 500
