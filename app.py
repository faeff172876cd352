"""Word2Vec Lab: the Streamlit entry point. Run with `streamlit run app.py`.

This file only sets up navigation and the sidebar run picker; each page is a file in
pages/ (pages only), and the Streamlit helpers they share live in the package labui/
beside it (Streamlit puts this file's folder on sys.path, so pages import `labui`).
"""
import streamlit as st

from labui.runs import keep_worker_warm, sidebar_run_picker

st.set_page_config(page_title="Word2Vec Lab", page_icon=":material/hub:", layout="wide")

# URL paths deliberately differ from the file names: while a folder named pages/ sits beside
# this file, Streamlit starts in its legacy pages/-folder mode until st.navigation has run
# once, and would serve a first request of e.g. /train by running pages/train.py on its own
# (without this file, so without the sidebar). These paths are also the public URLs.
nav = st.navigation({
    "Lab": [
        st.Page("pages/home.py", title="Runs", icon=":material/home:", default=True, url_path="runs"),
        st.Page("pages/data.py", title="Data", icon=":material/menu_book:", url_path="corpus"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="training"),
    ],
    "Inspect": [
        st.Page("pages/explore.py", title="Explore", icon=":material/explore:", url_path="embeddings"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="comparison"),
        st.Page("pages/sweep.py", title="α sweep", icon=":material/tune:", url_path="alpha-sweep"),
        st.Page("pages/bias.py", title="Bias", icon=":material/balance:", url_path="gender-bias"),
        st.Page("pages/values.py", title="Values", icon=":material/linear_scale:", url_path="value-vectors"),
        st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="downloads"),
    ],
})
sidebar_run_picker()
keep_worker_warm()
nav.run()
