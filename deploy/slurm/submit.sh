#!/bin/sh
# Queues the embedding array and, after every task of it succeeded, the merge:
#   MODEL=/shared/model INPUT=/shared/input.txt PARTS=/shared/parts DATA=/shared sh submit.sh
set -e
cd "$(dirname "$0")"
array=$(sbatch --parsable --export=ALL embed-array.sbatch)
sbatch --dependency=afterok:"$array" --export=ALL merge.sbatch
