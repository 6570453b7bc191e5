# bash completion for vert(1)  -*- shell-script -*-
# Commands and options come from vert's own --help, so they never drift
# from the binary; VE and template names from `vert ps -a -q` and
# `vert template ls -q` (with the --root of the command line, if any).

_vert_cmd()
{
	local root=()
	[ -n "${_vert_root-}" ] && root=(--root "$_vert_root")
	"${_vert_bin:-vert}" "${root[@]}" "$@" 2>/dev/null
}

_vert_commands()
{
	_vert_cmd --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'
}

# the options a --help's option list starts a line with, and those its
# usage lines show in brackets ([-a] [--json])
_vert_options()
{
	local h
	h=$(_vert_cmd "$@" --help)
	{
		grep -E '^ {1,4}-' <<<"$h" | sed 's/^ *//; s/  .*//'
		grep -E '^(Usage:|  +vert )' <<<"$h" | grep -oE -- '\[--?[a-zA-Z][a-zA-Z0-9-]*' | tr -d '['
	} | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,]*//' | sort -u
}

_vert()
{
	local cur prev words cword
	_init_completion || return

	local i cmd="" sub="" _vert_root="" _vert_bin=${words[0]} npos=0
	for ((i = 1; i < cword; i++)); do
		case "${words[i]}" in
		--root) _vert_root=${words[i + 1]}; ((i++)) ;;
		--root=*) _vert_root=${words[i]#--root=} ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=${words[i]}
			elif [ "$cmd" = template ] && [ -z "$sub" ]; then
				sub=${words[i]}
			else
				case "${words[i - 1]}" in
				-t|--time|--timeout|-T|--template|--name|--hostname|-e|--env|-v|--volume|-w|--workdir|-u|--user|--net|--ip|-p|--publish|--dns|--cap-add|--cap-drop|--stop-signal|--stop-timeout|--memory|--memory-high|--swap|--cpus|--cpu-weight|--cpuset|--pids|--io-weight|--io-max|--format|-n|--tail|-i|--interval|--busybox|--from) ;;
				*) ((npos++)) ;;
				esac
			fi
			;;
		esac
	done

	if [ -z "$cmd" ]; then
		case "$prev" in
		--root) _filedir -d; return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_vert_options)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_vert_commands)" -- "$cur"))
		fi
		return
	fi

	case "$prev" in
	-T|--template) COMPREPLY=($(compgen -W "$(_vert_cmd template ls -q)" -- "$cur")); return ;;
	--net) COMPREPLY=($(compgen -W "bridge routed none host pasta slirp4netns" -- "$cur")); return ;;
	--from) COMPREPLY=($(compgen -W "busybox" -- "$cur")); return ;;
	--busybox) _filedir; return ;;
	-v|--volume|-w|--workdir) _filedir -d; return ;;
	--stop-signal) COMPREPLY=($(compgen -W "$(kill -l | tr -s ' \t' '\n' | grep '^SIG')" -- "$cur")); return ;;
	-t|--time|--timeout|--name|--hostname|-e|--env|-u|--user|--ip|-p|--publish|--dns|--cap-add|--cap-drop|--stop-timeout|--memory|--memory-high|--swap|--cpus|--cpu-weight|--cpuset|--pids|--io-weight|--io-max|--format|-n|--tail|-i|--interval)
		return ;;
	esac

	if [ "$cmd" = template ]; then
		if [ -z "$sub" ]; then
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "$(_vert_options template)" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "create import ls rm" -- "$cur"))
			fi
			return
		fi
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_vert_options template)" -- "$cur"))
			return
		fi
		case "$sub" in
		rm) COMPREPLY=($(compgen -W "$(_vert_cmd template ls -q)" -- "$cur")) ;;
		import) [ "$npos" -ge 1 ] && _filedir ;;
		esac
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_vert_options "$cmd")" -- "$cur"))
		return
	fi
	case "$cmd" in
	run)
		[ "$npos" -eq 0 ] && COMPREPLY=($(compgen -W "$(_vert_cmd template ls -q)" -- "$cur"))
		;;
	create)
		;;
	start|destroy|set|inspect|logs|restart|restore)
		COMPREPLY=($(compgen -W "$(_vert_cmd ps -a -q)" -- "$cur"))
		;;
	stop|exec|enter|top|stats|kill|checkpoint|migrate)
		if [ "$npos" -eq 0 ] || [ "$cmd" = stop ] || [ "$cmd" = stats ]; then
			COMPREPLY=($(compgen -W "$(_vert_cmd ps -q)" -- "$cur"))
		elif [ "$cmd" = kill ]; then
			COMPREPLY=($(compgen -W "$(kill -l | tr -s ' \t' '\n' | grep '^SIG' | sed 's/^SIG//')" -- "$cur"))
		fi
		;;
	esac
}
complete -F _vert vert
