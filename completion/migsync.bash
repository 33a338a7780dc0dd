# bash completion for migsync: commands, their options, environment names
# (the inventory's ENV.yaml files) and option values. Installed as
# share/bash-completion/completions/migsync; works without the
# bash-completion package too (source this file).
#
# Commands and options are read from migsync's own --help, so that the
# completion always matches the binary that runs.

# The commands of `migsync --help`.
_migsync_commands()
{
	"$1" --help 2>/dev/null |
		awk '/^Options every command takes/ { exit } /^  [a-z]+  +[a-z]/ { print $1 }'
}

# The options of `migsync COMMAND --help`: the option column of its option
# lines ("  -e, --environment=ENV   ..."), each long option with "=" when
# it takes a value.
_migsync_options()
{
	"$1" "$2" --help 2>/dev/null | awk '
		/^[[:space:]]+-/ {
			line = $0
			sub(/^[[:space:]]+/, "", line)
			sub(/[[:space:]][[:space:]].*$/, "", line)
			n = split(line, opt, /, /)
			for (i = 1; i <= n; i++) {
				o = opt[i]
				sub(/\[?=.*$/, "=", o)
				sub(/ .*$/, "", o)
				print o
			}
		}'
}

# The environments of an inventory directory: its ENV.yaml files.
_migsync_environments()
{
	local dir=$1 f name

	for f in "$dir"/*.yaml "$dir"/*.yml; do
		[ -f "$f" ] || continue
		name=${f##*/}
		name=${name%.*}
		[ "$name" = inventory ] || printf '%s\n' "$name"
	done
}

_migsync()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= bin=${COMP_WORDS[0]}
	local cmd= sub= inv=${MIGSYNC_INVENTORY:-environments} i w words

	# "--option=value" arrives as "--option" "=" "value" (COMP_WORDBREAKS)
	if [ "$COMP_CWORD" -ge 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi
	if [ "$cur" = "=" ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-i | --inventory)
			[ "${COMP_WORDS[i + 1]}" = "=" ] && ((i++))
			inv=${COMP_WORDS[i + 1]}
			((i++))
			;;
		--scripts | --format | --junit | --markdown | --html)
			[ "${COMP_WORDS[i + 1]}" = "=" ] && ((i++))
			((i++))
			;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=$w
			elif [ -z "$sub" ]; then
				sub=$w
			fi
			;;
		esac
	done

	case $prev in
	-e | --environment | --against | --through)
		words=$(_migsync_environments "$inv")
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return 0
		;;
	-i | --inventory | --scripts)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--format)
		if [ "$cmd" = graph ]; then
			words="mermaid dot json"
		else
			words="text json"
		fi
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return 0
		;;
	--on-unapproved)
		mapfile -t COMPREPLY < <(compgen -W "fail skip" -- "$cur")
		return 0
		;;
	--junit | --markdown | --html)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	esac

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			words="--inventory= --scripts= --format= --help --version -i -h"
		else
			words="$(_migsync_commands "$bin") help"
		fi
	elif [ "$cmd" = help ]; then
		words=$(_migsync_commands "$bin")
	elif [[ $cur == -* ]]; then
		words=$(_migsync_options "$bin" "$cmd")
	elif [ "$cmd" = report ] && [ -z "$sub" ]; then
		words=merge
	elif [ "$cmd" = report ]; then
		# the shards' JSON files
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
	else
		return 0
	fi
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	# no space after "--option=": its value comes next
	if [ "${#COMPREPLY[@]}" = 1 ] && [[ ${COMPREPLY[0]} == *= ]] && type compopt >/dev/null 2>&1; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

complete -F _migsync migsync
